// The scheduler strategy contract (after HAProxy's struct lb_ops): lifecycle hooks, no sockets.
import type { SchedulerName } from '../types.js';

export interface Scheduler {
  readonly name: SchedulerName;
  /** Backend becomes eligible with this effective weight (> 0). */
  up(id: string, weight: number): void;
  /** Backend is no longer eligible (down, drained, disabled, ejected, removed). */
  down(id: string): void;
  /** Effective weight changed (operator change or slow-start ramp); weight > 0. */
  setWeight(id: string, weight: number): void;
  /** A connection/request started on this backend. */
  take(id: string): void;
  /** A connection/request on this backend ended. */
  drop(id: string): void;
  /**
   * Choose among eligible backends not in `exclude`. `key` is the client address (ip-hash);
   * undefined when nothing is eligible.
   */
  pick(key: string, exclude?: ReadonlySet<string>): string | undefined;
}
