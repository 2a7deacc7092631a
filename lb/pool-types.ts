// Types of the pool runtime's surface: construction options and the per-backend snapshot.
import type { DataPlaneMetrics } from './metrics.js';
import type { AdminState, BackendHealth, HealthStatus } from './types.js';

export interface PoolRuntimeOptions {
  /** Epoch milliseconds (health `since` values are epoch ms, so this must be too). */
  now: () => number;
  metrics?: DataPlaneMetrics;
  /** Health already known when the runtime is built (a worker joining a running cluster). */
  health?: Record<string, BackendHealth> | undefined;
}

/** Runtime view of one backend, for stats and the panel. */
export interface BackendSnapshot {
  name: string;
  /** In-flight connections (tcp) or requests (http) in this worker. */
  active: number;
  /** Would get new work now (maxConns aside; see `full`). */
  eligible: boolean;
  /** Weight the scheduler uses, in spec units (fractional during slow start); 0 when not eligible. */
  effectiveWeight: number;
  /** Epoch ms the passive ejection ends; null when not ejected. */
  ejectedUntil: number | null;
  /** At its maxConns limit. */
  full: boolean;
  state: AdminState;
  /** Health as this pool applies it: "up" when the pool has no health check. */
  health: HealthStatus;
  backup: boolean;
  consecutiveFailures: number;
  /** Gone from the spec, kept only until its in-flight work ends. */
  removed: boolean;
}
