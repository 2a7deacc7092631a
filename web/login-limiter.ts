// Failed-login rate limiting per user name and per client address. In memory, per node: a client
// spreading guesses over N nodes gets N times the budget; the window is short enough for that to
// stay small, and nothing here needs to survive a restart.
import type { LoginLimits } from './types.js';

export const DEFAULT_LOGIN_LIMITS: LoginLimits = { perUser: 10, perAddress: 30, windowMs: 5 * 60_000 };

/** Keys tracked at most; the stalest are dropped first so a flood of names cannot grow memory. */
const MAX_KEYS = 10_000;

export class LoginLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly limits: LoginLimits,
    private readonly now: () => number,
  ) {}

  private recent(key: string): number[] {
    const since = this.now() - this.limits.windowMs;
    const kept = (this.failures.get(key) ?? []).filter((t) => t > since);
    if (kept.length) this.failures.set(key, kept);
    else this.failures.delete(key);
    return kept;
  }

  /** Seconds until this user from this address may try again; 0 when it may now. */
  retryAfterS(user: string, address: string): number {
    let waitMs = 0;
    for (const [key, max] of [[`u:${user}`, this.limits.perUser], [`a:${address}`, this.limits.perAddress]] as const) {
      const times = this.recent(key);
      if (times.length >= max) waitMs = Math.max(waitMs, times[times.length - max]! + this.limits.windowMs - this.now());
    }
    return waitMs > 0 ? Math.max(1, Math.ceil(waitMs / 1000)) : 0;
  }

  recordFailure(user: string, address: string): void {
    const t = this.now();
    for (const key of [`u:${user}`, `a:${address}`]) {
      const times = this.recent(key);
      times.push(t);
      // Re-insert so Map order is least-recently-failed first.
      this.failures.delete(key);
      this.failures.set(key, times);
    }
    while (this.failures.size > MAX_KEYS) {
      const oldest = this.failures.keys().next().value;
      if (oldest === undefined) break;
      this.failures.delete(oldest);
    }
  }
}
