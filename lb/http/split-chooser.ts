// Weighted split of one route between pools (canary, blue-green): smooth weighted round-robin per
// worker for unpinned requests, pinning by a header value or by a cookie the balancer sets.
import { hash32 } from '../schedule/hash.js';
import type { SplitPinSpec, SplitTarget } from '../types.js';

export interface SplitChoice {
  pool: string;
  /** Cookie value to set (the pool's name) when the client is to be pinned and is not yet. */
  pinCookie?: string;
}

/** Immutable per spec; the listener builds a new one on every update (weights restart evenly). */
export class SplitChooser {
  private readonly targets: SplitTarget[];
  private readonly current: number[];
  private readonly total: number;

  constructor(
    split: readonly SplitTarget[],
    private readonly pin: SplitPinSpec | undefined,
  ) {
    // Weight 0 takes no new clients and releases the pinned ones (blue-green 100/0).
    this.targets = split.filter((t) => t.weight > 0);
    this.current = this.targets.map(() => 0);
    this.total = this.targets.reduce((n, t) => n + t.weight, 0);
  }

  /** `header` and `cookie` read the request (lowercase header name; cookie by name). */
  choose(header: (name: string) => string | undefined, cookie: (name: string) => string | undefined): SplitChoice {
    const pin = this.pin;
    if (pin?.header !== undefined) {
      const value = header(pin.header);
      if (value !== undefined && value !== '') return { pool: this.named(value) ?? this.hashed(value) };
    }
    if (pin?.cookie !== undefined) {
      const pinned = this.named(cookie(pin.cookie));
      if (pinned !== undefined) return { pool: pinned };
      const pool = this.next();
      return { pool, pinCookie: pool };
    }
    return { pool: this.next() };
  }

  /** A pool of the split that still has weight, by name. */
  private named(value: string | undefined): string | undefined {
    return value === undefined ? undefined : this.targets.find((t) => t.pool === value)?.pool;
  }

  /** A stable pool for a header value, in proportion to the weights. */
  private hashed(value: string): string {
    let point = hash32(value) % this.total;
    for (const t of this.targets) {
      if (point < t.weight) return t.pool;
      point -= t.weight;
    }
    return this.targets[0]?.pool ?? '';
  }

  /** Smooth weighted round-robin (nginx): exact proportions, interleaved. */
  private next(): string {
    let best = 0;
    for (let i = 0; i < this.targets.length; i++) {
      this.current[i]! += this.targets[i]!.weight;
      if (this.current[i]! > this.current[best]!) best = i;
    }
    this.current[best]! -= this.total;
    return this.targets[best]?.pool ?? '';
  }
}
