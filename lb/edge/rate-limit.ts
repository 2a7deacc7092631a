// RateLimiter: a worker's view of the node's token buckets. The node holds the buckets; a worker
// takes tokens in small leases and spends them locally, so most requests cost no IPC.
//
// Why leases rather than rate/N per worker: the kernel spreads connections, not requests, over
// workers, and one keep-alive client sits on one worker, so a static 1/N split would give a
// single client only 1/N of its limit. With leases the limit is the node's: a worker never spends
// a token the node did not debit, so the node never admits more than burst + rate x t. What is
// given up: tokens leased but not spent within LEASE_TTL_MS are lost (under-admission of at most
// one lease per worker per key per TTL), and a worker caches a denial until the node said one token
// is back, so a refused client costs no IPC (another worker may spend that token first).
import type { RateLimitSpec } from '../types.js';
import type { EdgeChannel, RateDecision } from './types.js';

/** Unspent leased tokens expire after this; keeps the loss bounded and a changed limit quick to bite. */
export const LEASE_TTL_MS = 1000;
/** Node unreachable this long: fail open (availability over enforcement), and say so in the log. */
const NODE_TIMEOUT_MS = 1000;

interface Local {
  credit: number;
  expiresAt: number;
  deniedUntil: number;
  pending: Promise<void> | undefined;
}

/** Tokens per lease: about 1/20 s of rate, never more than a quarter of the burst, at least one. */
export function leaseSize(spec: Pick<RateLimitSpec, 'ratePerSec' | 'burst'>): number {
  return Math.max(1, Math.min(Math.floor(spec.burst / 4), Math.ceil(spec.ratePerSec / 20)));
}

export class RateLimiter {
  private readonly local = new Map<string, Local>();
  private sweepAt = 0;

  constructor(
    private readonly channel: EdgeChannel,
    private readonly now: () => number = Date.now,
    private readonly onNodeError: (err: unknown) => void = () => undefined,
  ) {}

  /** Spend one token of `key` under `spec`: synchronous when a lease or a cached denial decides. */
  take(key: string, spec: RateLimitSpec): RateDecision | Promise<RateDecision> {
    const now = this.now();
    const entry = this.local.get(key);
    if (entry !== undefined) {
      const fast = this.spend(entry, now);
      if (fast !== undefined) return fast;
      if (entry.pending !== undefined) return entry.pending.then(() => this.take(key, spec));
    }
    return this.lease(key, spec, entry);
  }

  private spend(entry: Local, now: number): RateDecision | undefined {
    if (entry.credit > 0 && now < entry.expiresAt) {
      entry.credit -= 1;
      return { allowed: true };
    }
    if (now < entry.deniedUntil) return { allowed: false, retryAfterSec: Math.max(1, Math.ceil((entry.deniedUntil - now) / 1000)) };
    return undefined;
  }

  private async lease(key: string, spec: RateLimitSpec, existing: Local | undefined): Promise<RateDecision> {
    // Sweep before inserting: a fresh entry looks expired and would be swept with its lease.
    this.maybeSweep();
    const entry: Local = existing ?? { credit: 0, expiresAt: 0, deniedUntil: 0, pending: undefined };
    this.local.set(key, entry);
    let decision: RateDecision = { allowed: true };
    const asked = (async () => {
      try {
        const reply = await withTimeout(this.channel.take(key, spec.ratePerSec, spec.burst, spec.scope, leaseSize(spec)), NODE_TIMEOUT_MS);
        const now = this.now();
        if (reply.granted > 0) {
          entry.credit = reply.granted - 1;
          entry.expiresAt = now + LEASE_TTL_MS;
          entry.deniedUntil = 0;
          decision = { allowed: true };
        } else {
          entry.credit = 0;
          entry.deniedUntil = now + reply.retryAfterMs;
          decision = { allowed: false, retryAfterSec: Math.max(1, Math.ceil(reply.retryAfterMs / 1000)) };
        }
      } catch (err) {
        this.onNodeError(err);
        decision = { allowed: true };
      }
    })();
    entry.pending = asked;
    await asked;
    if (entry.pending === asked) entry.pending = undefined;
    return decision;
  }

  /** Forget entries that decide nothing any more, at most every few seconds. */
  private maybeSweep(): void {
    const now = this.now();
    if (now < this.sweepAt) return;
    this.sweepAt = now + 5000;
    for (const [key, e] of this.local) {
      if (e.pending === undefined && now >= e.expiresAt && now >= e.deniedUntil) this.local.delete(key);
    }
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node did not answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
