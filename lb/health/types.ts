// The active health-check contracts: checkers, the clock they are scheduled on, and the transitions they report.
import type { HealthCheckSpec, HealthStatus } from '../types.js';

/**
 * Probe kinds, taken from the spec so that a new kind added to HealthCheckSpec.type makes every
 * `Record<CheckType, Checker>` fail to compile until it has a checker. Room is left for `tls`:
 * a tls-checker.ts that completes a TLS handshake (SNI from `host`, optional verification) and, when
 * `path` is set, runs the HTTP probe over that TLS socket.
 */
export type CheckType = HealthCheckSpec['type'];

/** Where one probe goes. `port` already has the per-backend and per-pool probe-port overrides applied. */
export interface CheckTarget {
  pool: string;
  backend: string;
  host: string;
  port: number;
}

export interface CheckResult {
  ok: boolean;
  /** Short and stable enough to show an operator: `status 503 not in 200-399`, `ECONNREFUSED`, `connected`. */
  reason: string;
  durationMs: number;
}

/**
 * One probe of one backend. Contract: never rejects (failures are results), gives up on its own
 * after `spec.timeoutMs`, settles promptly once `signal` aborts, and leaves no socket open once settled.
 * The spec passed in has the per-backend `path` override applied.
 */
export interface Checker {
  check(target: CheckTarget, spec: HealthCheckSpec, signal: AbortSignal): Promise<CheckResult>;
}

/** A change of observed health, as the monitor reports it (and, in a cluster, as the leader proposes it). */
export interface HealthTransition {
  pool: string;
  backend: string;
  from: HealthStatus;
  to: HealthStatus;
  /** Reason of the check that completed the transition. */
  reason: string;
  /** Clock time (epoch ms for the real clock). */
  at: number;
}

declare const timerBrand: unique symbol;
/** Opaque handle of a scheduled callback; only the clock that made it can cancel it. */
export type TimerHandle = { readonly [timerBrand]: true };

/** Time and scheduling, passed in so the monitor's timing logic runs on a fake clock in tests. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}
