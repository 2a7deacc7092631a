// TokenBuckets: the authoritative token buckets of one node, keyed by limit and client; pure (the
// clock is passed in) and bounded in keys.
import type { EdgeTakeReply } from '../types.js';

interface Bucket {
  tokens: number;
  /** ms of the last refill. */
  at: number;
  ratePerSec: number;
  burst: number;
}

/** A bucket that is full again carries no information: dropping it changes nothing. */
const DEFAULT_MAX_KEYS = 100_000;

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly maxKeys = DEFAULT_MAX_KEYS) {}

  get size(): number {
    return this.buckets.size;
  }

  /** Take up to `want` whole tokens; with none left, say how long until one is back. */
  take(key: string, now: number, ratePerSec: number, burst: number, want: number): EdgeTakeReply {
    let b = this.buckets.get(key);
    if (b === undefined) {
      b = { tokens: burst, at: now, ratePerSec, burst };
      if (this.buckets.size >= this.maxKeys) this.evictOldest();
    } else {
      // Re-insert: Map order is then least recently used first, for eviction.
      this.buckets.delete(key);
      b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * ratePerSec);
      b.at = now;
      // A changed limit applies from now on; tokens above a smaller burst are dropped.
      b.ratePerSec = ratePerSec;
      b.burst = burst;
    }
    this.buckets.set(key, b);
    const granted = Math.max(0, Math.min(want, Math.floor(b.tokens)));
    b.tokens -= granted;
    if (granted > 0) return { granted, retryAfterMs: 0 };
    const retryAfterMs = ratePerSec > 0 ? Math.ceil(((1 - b.tokens) / ratePerSec) * 1000) : 60_000;
    return { granted: 0, retryAfterMs };
  }

  /** Drop buckets that have refilled completely by `now`; bounded work per call. */
  sweep(now: number, budget = 10_000): void {
    let seen = 0;
    for (const [key, b] of this.buckets) {
      if (++seen > budget) return;
      if (b.tokens + ((now - b.at) / 1000) * b.ratePerSec >= b.burst) this.buckets.delete(key);
    }
  }

  private evictOldest(): void {
    // Under a flood of distinct keys the least recently used go first; an evicted client starts
    // again with a full bucket, which is the precision given up for bounded memory.
    const oldest = this.buckets.keys().next();
    if (oldest.done !== true) this.buckets.delete(oldest.value);
  }
}
