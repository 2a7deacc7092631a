// The health monitor: one check loop per checked backend, rise/fall hysteresis, transitions out.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { BackendSpec, HealthCheckSpec, HealthStatus, HealthTable, PoolSpec } from '../types.js';
import { createHealthMetrics, type HealthMetrics } from './metrics.js';
import type { CheckResult, CheckTarget, CheckType, Checker, Clock, HealthTransition, TimerHandle } from './types.js';

export interface HealthMonitorOptions {
  clock: Clock;
  /** Uniform in [0, 1); passed in so tests can pin the jitter. */
  random: () => number;
  checkers: Record<CheckType, Checker>;
  /** Called once per transition, synchronously, after the monitor's own state has moved. */
  onTransition: (transition: HealthTransition) => void;
  logger: Logger;
  registry: Registry;
}

export interface HealthUpdateOptions {
  /**
   * Check every backend within RECHECK_SPREAD_MS instead of spreading first checks over the
   * interval. A new leader passes this: the health it inherits may be one election old.
   */
  recheckNow?: boolean;
}

/** recheckNow spreads checks over this long rather than firing them all in the same tick. */
export const RECHECK_SPREAD_MS = 100;
/** Steady-state intervals vary by ±10% so loops started together drift apart. */
const JITTER = 0.1;
/** How long past its timeout a checker may run before the monitor aborts it and counts a failure. */
const OVERRUN_GRACE_MS = 1000;
/** A zero or negative interval from a bad spec must not spin the event loop. */
const MIN_INTERVAL_MS = 10;

interface Probe {
  target: CheckTarget;
  /** The pool's spec with the backend's path override applied. */
  spec: HealthCheckSpec;
  /** Equal fingerprints probe the same thing the same way; a change restarts the loop. */
  fingerprint: string;
}

interface BackendLoop {
  readonly pool: string;
  readonly backend: string;
  readonly probe: Probe;
  status: HealthStatus;
  reason: string;
  since: number;
  /** Consecutive results against `status`: failures while up, passes while down. */
  streak: number;
  timer: TimerHandle | undefined;
  inflight: Promise<void> | undefined;
  abort: AbortController | undefined;
  /** The last check of the loop this one replaced; it must settle before this loop probes. */
  after: Promise<void> | undefined;
  stopped: boolean;
}

function loopKey(pool: string, backend: string): string {
  return JSON.stringify([pool, backend]);
}

function probeFor(pool: PoolSpec, spec: HealthCheckSpec, backend: BackendSpec): Probe {
  const override = backend.healthCheck;
  const effective: HealthCheckSpec = { ...spec, path: override?.path ?? spec.path };
  const target: CheckTarget = {
    pool: pool.name,
    backend: backend.name,
    host: backend.host,
    port: override?.port ?? spec.port ?? backend.port,
  };
  // Field by field so that key order in the incoming spec cannot fake a change.
  const fingerprint = JSON.stringify([
    target.host,
    target.port,
    effective.type,
    effective.intervalMs,
    effective.timeoutMs,
    effective.rise,
    effective.fall,
    effective.fastIntervalMs,
    effective.downIntervalMs,
    effective.method,
    effective.path,
    effective.host ?? null,
    effective.expectStatus.map((r) => [r.from, r.to]),
    effective.expectBody ?? null,
  ]);
  return { target, spec: effective, fingerprint };
}

/**
 * Runs the active checks. Knows nothing of Raft: it is handed the pools and the current health
 * table, and reports transitions through `onTransition`.
 *
 * Health starts from the table (warm). A backend the table does not know is `unknown`, and its
 * first check decides: one pass makes it up, one failure down. Hysteresis exists to keep a known
 * state from flapping; with no observation yet there is nothing to protect, and waiting `rise`
 * checks would leave a new backend in limbo. This matches HAProxy, whose servers start "up but
 * going down" (health = rise), so the first failed check takes them down.
 *
 * After that, `fall` consecutive failures take an up backend down and `rise` consecutive passes
 * bring a down one up; any opposite result resets the count (HAProxy documents rise/fall as
 * consecutive). Admin state `disabled` is not checked; `drain` is, as HAProxy does, so the
 * operator sees real health before putting the backend back.
 *
 * For a backend it already runs, update() trusts the monitor's own observation over the table:
 * the table can lag a transition that is still being committed. adopt() is the way back when a
 * reported transition was never recorded.
 */
export class HealthMonitor {
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #checkers: Record<CheckType, Checker>;
  readonly #onTransition: (transition: HealthTransition) => void;
  readonly #logger: Logger;
  readonly #metrics: HealthMetrics;
  readonly #loops = new Map<string, BackendLoop>();
  /** Last checks of loops that were stopped or removed and have not settled yet, by backend key. */
  readonly #settling = new Map<string, Promise<void>>();

  constructor(options: HealthMonitorOptions) {
    this.#clock = options.clock;
    this.#random = options.random;
    this.#checkers = options.checkers;
    this.#onTransition = options.onTransition;
    this.#logger = options.logger;
    this.#metrics = createHealthMetrics(options.registry);
  }

  /**
   * Applies the desired pools live. New backends start a loop (first check spread over the
   * interval); a backend whose address, probe port or check spec changed restarts its loop
   * (counters reset, status kept); removed, disabled or no-longer-checked backends stop; the
   * rest keep their loops and counters untouched.
   */
  update(pools: readonly PoolSpec[], health: HealthTable, options: HealthUpdateOptions = {}): void {
    const wanted = new Set<string>();
    for (const pool of pools) {
      const spec = pool.healthCheck;
      if (!spec) continue;
      for (const backend of pool.backends) {
        if (backend.state === 'disabled') continue;
        const key = loopKey(pool.name, backend.name);
        wanted.add(key);
        const probe = probeFor(pool, spec, backend);
        const existing = this.#loops.get(key);
        if (existing?.probe.fingerprint === probe.fingerprint) continue;
        if (existing) this.#retire(key, existing);
        const seed = existing ?? health[pool.name]?.[backend.name];
        const loop: BackendLoop = {
          pool: pool.name,
          backend: backend.name,
          probe,
          status: seed?.status ?? 'unknown',
          reason: seed?.reason ?? '',
          since: seed?.since ?? this.#clock.now(),
          streak: 0,
          timer: undefined,
          inflight: undefined,
          abort: undefined,
          after: this.#settling.get(key),
          stopped: false,
        };
        this.#loops.set(key, loop);
        this.#showStatus(loop);
        this.#schedule(loop, this.#random() * this.#base(loop.probe.spec.intervalMs));
      }
    }
    for (const [key, loop] of this.#loops) {
      if (wanted.has(key)) continue;
      this.#retire(key, loop);
      this.#loops.delete(key);
      this.#metrics.backendUp.remove({ pool: loop.pool, backend: loop.backend });
    }
    if (options.recheckNow) this.recheckAll();
  }

  /** Checks every backend not already being checked within RECHECK_SPREAD_MS. */
  recheckAll(): void {
    for (const loop of this.#loops.values()) {
      if (loop.stopped || loop.inflight) continue;
      if (loop.timer !== undefined) this.#clock.clearTimeout(loop.timer);
      this.#schedule(loop, this.#random() * Math.min(RECHECK_SPREAD_MS, loop.probe.spec.intervalMs));
    }
  }

  /**
   * Takes the table's health for every running backend whose observed status differs (absent =
   * `unknown`), resets its counters and re-checks it within RECHECK_SPREAD_MS. For when a reported
   * transition could not be recorded (a failed proposal): the monitor would otherwise keep a view
   * the cluster never took, and never report it again. Each re-check then runs rise/fall afresh.
   */
  adopt(health: HealthTable): void {
    for (const loop of this.#loops.values()) {
      const entry = health[loop.pool]?.[loop.backend];
      const status = entry?.status ?? 'unknown';
      if (loop.stopped || status === loop.status) continue;
      loop.status = status;
      loop.reason = entry?.reason ?? '';
      loop.since = entry?.since ?? this.#clock.now();
      loop.streak = 0;
      this.#showStatus(loop);
      if (loop.inflight) continue;
      if (loop.timer !== undefined) this.#clock.clearTimeout(loop.timer);
      this.#schedule(loop, this.#random() * Math.min(RECHECK_SPREAD_MS, loop.probe.spec.intervalMs));
    }
  }

  /** The monitor's own view of every backend it checks. */
  observed(): HealthTable {
    const table: HealthTable = {};
    for (const loop of this.#loops.values()) {
      const pool = (table[loop.pool] ??= {});
      pool[loop.backend] = { status: loop.status, reason: loop.reason, since: loop.since };
    }
    return table;
  }

  /**
   * Stops every loop, aborts checks in flight and resolves once they have settled (so no probe
   * socket outlives it). Drops the backend_up series: a node that stopped checking has no view.
   * Not final: a later update() starts loops again from the table it is given (leadership regained).
   */
  async stop(): Promise<void> {
    for (const [key, loop] of this.#loops) {
      this.#retire(key, loop);
      this.#metrics.backendUp.remove({ pool: loop.pool, backend: loop.backend });
    }
    this.#loops.clear();
    await Promise.all(this.#settling.values());
  }

  /**
   * Halts a loop. Its check in flight (or the one it was itself waiting for) is kept until it
   * settles, so that whatever loop next probes this backend waits for it first.
   */
  #retire(key: string, loop: BackendLoop): void {
    this.#halt(loop);
    const pending = loop.inflight ?? loop.after;
    if (!pending) return;
    this.#settling.set(key, pending);
    void pending.then(() => {
      if (this.#settling.get(key) === pending) this.#settling.delete(key);
    });
  }

  #halt(loop: BackendLoop): void {
    loop.stopped = true;
    if (loop.timer !== undefined) this.#clock.clearTimeout(loop.timer);
    loop.timer = undefined;
    loop.abort?.abort();
  }

  #base(ms: number): number {
    return Math.max(MIN_INTERVAL_MS, ms);
  }

  #schedule(loop: BackendLoop, delayMs: number): void {
    loop.timer = this.#clock.setTimeout(() => {
      loop.timer = undefined;
      this.#run(loop);
    }, delayMs);
  }

  /** One check, then the next is scheduled; the chain is what keeps checks of a backend serial. */
  #run(loop: BackendLoop): void {
    if (loop.stopped || loop.inflight) return;
    const controller = new AbortController();
    loop.abort = controller;
    loop.inflight = this.#cycle(loop, controller).then(
      (nextMs) => {
        loop.inflight = undefined;
        loop.abort = undefined;
        if (nextMs !== undefined && !loop.stopped) this.#schedule(loop, nextMs);
      },
      (err: unknown) => {
        loop.inflight = undefined;
        loop.abort = undefined;
        this.#logger.error({ err, pool: loop.pool, backend: loop.backend }, 'health check cycle failed');
        if (!loop.stopped) this.#schedule(loop, this.#base(loop.probe.spec.intervalMs));
      },
    );
  }

  /** Probes once and records the result; resolves to the delay before the next check (start to start). */
  async #cycle(loop: BackendLoop, controller: AbortController): Promise<number | undefined> {
    if (loop.after) {
      await loop.after;
      loop.after = undefined;
    }
    if (loop.stopped) return undefined;
    const startedAt = this.#clock.now();
    const result = await this.#probe(loop, controller);
    if (loop.stopped) return undefined;
    this.#record(loop, result);
    return Math.max(0, this.#nextInterval(loop) - (this.#clock.now() - startedAt));
  }

  async #probe(loop: BackendLoop, controller: AbortController): Promise<CheckResult> {
    const { spec, target } = loop.probe;
    const started = this.#clock.now();
    const checker = this.#checkers[spec.type] as Checker | undefined;
    if (!checker) return { ok: false, reason: `no checker for type ${spec.type}`, durationMs: 0 };
    let overran = false;
    const backstop = this.#clock.setTimeout(() => {
      overran = true;
      controller.abort();
    }, spec.timeoutMs + OVERRUN_GRACE_MS);
    try {
      const result = await checker.check(target, spec, controller.signal);
      if (overran) return { ...result, ok: false, reason: `timeout after ${spec.timeoutMs}ms (checker overran)` };
      return result;
    } catch (err) {
      return { ok: false, reason: `checker error: ${(err as Error).message}`, durationMs: this.#clock.now() - started };
    } finally {
      this.#clock.clearTimeout(backstop);
    }
  }

  #record(loop: BackendLoop, result: CheckResult): void {
    const { pool, backend } = loop;
    this.#metrics.checksTotal.inc({ pool, backend, result: result.ok ? 'pass' : 'fail' });
    this.#metrics.checkDuration.observe({ pool, type: loop.probe.spec.type }, result.durationMs / 1000);
    if (!result.ok) this.#logger.debug({ pool, backend, reason: result.reason }, 'health check failed');

    const from = loop.status;
    let to: HealthStatus | undefined;
    switch (from) {
      case 'unknown':
        to = result.ok ? 'up' : 'down';
        break;
      case 'up':
        loop.streak = result.ok ? 0 : loop.streak + 1;
        if (loop.streak >= loop.probe.spec.fall) to = 'down';
        break;
      case 'down':
        loop.streak = result.ok ? loop.streak + 1 : 0;
        if (loop.streak >= loop.probe.spec.rise) to = 'up';
        break;
      default: {
        const never: never = from;
        throw new Error(`unhandled health status ${String(never)}`);
      }
    }
    if (to === undefined) return;

    const transition: HealthTransition = { pool, backend, from, to, reason: result.reason, at: this.#clock.now() };
    loop.status = to;
    loop.reason = result.reason;
    loop.since = transition.at;
    loop.streak = 0;
    this.#showStatus(loop);
    this.#metrics.transitionsTotal.inc({ pool, backend, to });
    const fields = { pool, backend, from, to, reason: result.reason };
    const message = `backend ${pool}/${backend} is ${to}: ${result.reason}`;
    if (to === 'down') this.#logger.warn(fields, message);
    else this.#logger.info(fields, message);
    try {
      this.#onTransition(transition);
    } catch (err) {
      this.#logger.error({ err, pool, backend }, 'onTransition handler threw');
    }
  }

  /** fastInterval while counting towards a change (or still unknown), downInterval while down. */
  #nextInterval(loop: BackendLoop): number {
    const spec = loop.probe.spec;
    let base: number;
    if (loop.streak > 0 || loop.status === 'unknown') base = spec.fastIntervalMs;
    else if (loop.status === 'down') base = spec.downIntervalMs;
    else base = spec.intervalMs;
    return this.#base(base) * (1 - JITTER + 2 * JITTER * this.#random());
  }

  #showStatus(loop: BackendLoop): void {
    const labels = { pool: loop.pool, backend: loop.backend };
    if (loop.status === 'unknown') this.#metrics.backendUp.remove(labels);
    else this.#metrics.backendUp.set(labels, loop.status === 'up' ? 1 : 0);
  }
}
