// One pool's runtime in one worker: eligibility, in-flight counts, backup tier, maxConns,
// slow start and passive outlier ejection, fed into the pool's scheduler as lifecycle hooks.
import type { DataPlaneMetrics } from './metrics.js';
import type { BackendSnapshot, PoolRuntimeOptions } from './pool-types.js';
import { rampStep, WEIGHT_SCALE } from './pool-slow-start.js';
import { createScheduler } from './schedule/scheduler.js';
import type { Scheduler } from './schedule/types.js';
import type {
  BackendHealth,
  BackendLease,
  BackendSpec,
  HealthStatus,
  LeaseOutcome,
  PoolPicker,
  PoolSpec,
} from './types.js';

export type { BackendSnapshot, PoolRuntimeOptions } from './pool-types.js';

type Tier = 'primary' | 'backup';

interface BackendRuntime {
  spec: BackendSpec;
  removed: boolean;
  active: number;
  /** Scheduler tier whose take/drop counts hold this backend's in-flight work. */
  countTier: Tier;
  /** Tier the backend is up in, with the scaled weight it was given; undefined when down. */
  upTier: Tier | undefined;
  scaledWeight: number;
  failures: number;
  ejectedUntil: number | undefined;
  ejectedAt: number;
  /** Start of the current slow-start ramp; undefined when not ramping. */
  rampFrom: number | undefined;
  /** When this runtime last saw the backend become ineligible (for telling health transitions apart). */
  wentDownAt: number;
}

export class PoolRuntime implements PoolPicker {
  readonly name: string;
  private spec: PoolSpec;
  private health: Record<string, BackendHealth> | undefined;
  private readonly now: () => number;
  private readonly metrics: DataPlaneMetrics | undefined;
  private readonly backends = new Map<string, BackendRuntime>();
  private schedulers: Record<Tier, Scheduler>;
  private eligibleCount: Record<Tier, number> = { primary: 0, backup: 0 };
  /** Earliest time an ejection ends or a slow-start step is due: acquire refreshes only then. */
  private nextDeadline = Infinity;

  constructor(spec: PoolSpec, opts: PoolRuntimeOptions) {
    this.name = spec.name;
    this.spec = spec;
    this.now = opts.now;
    this.metrics = opts.metrics;
    this.health = opts.health;
    this.schedulers = { primary: createScheduler(spec.scheduler), backup: createScheduler(spec.scheduler) };
    for (const b of spec.backends) this.backends.set(b.name, newRuntime(b));
    this.refresh(this.now(), true);
  }

  acquire(clientIp: string, exclude?: ReadonlySet<string>): BackendLease | undefined {
    const now = this.now();
    if (now >= this.nextDeadline) this.refresh(now, false);
    // Backups are a tier of their own (HAProxy keeps separate trees for active and backup
    // servers): they serve only while no primary is eligible, not when primaries are merely
    // full or already tried, so a saturated pool answers "busy" instead of spilling over.
    const tier: Tier | undefined =
      this.eligibleCount.primary > 0 ? 'primary' : this.eligibleCount.backup > 0 ? 'backup' : undefined;
    if (tier === undefined) return undefined;
    const scheduler = this.schedulers[tier];
    let skip = exclude;
    for (let attempt = 0; attempt <= this.backends.size; attempt++) {
      const id = scheduler.pick(clientIp, skip);
      if (id === undefined) return undefined;
      const b = this.backends.get(id);
      if (b === undefined) return undefined;
      if (b.spec.maxConns > 0 && b.active >= b.spec.maxConns) {
        // A full backend is skipped for this pick only; it stays in the scheduler so ip-hash
        // clients return to it once it has room.
        const next = new Set(skip);
        next.add(id);
        skip = next;
        continue;
      }
      return this.lease(b);
    }
    return undefined;
  }

  /** Sticky sessions: this backend, if it would get new work now (serving tier, room, not excluded). */
  acquireBackend(backend: string, exclude?: ReadonlySet<string>): BackendLease | undefined {
    const now = this.now();
    if (now >= this.nextDeadline) this.refresh(now, false);
    const b = this.backends.get(backend);
    if (b === undefined || b.upTier === undefined || exclude?.has(backend) === true) return undefined;
    const serving: Tier = this.eligibleCount.primary > 0 ? 'primary' : 'backup';
    if (b.upTier !== serving) return undefined;
    if (b.spec.maxConns > 0 && b.active >= b.spec.maxConns) return undefined;
    return this.lease(b);
  }

  stickyCookie(): string | undefined {
    return this.spec.stickiness === 'cookie' ? (this.spec.stickyCookie ?? `ballast_${this.name}`) : undefined;
  }

  /** Apply a changed spec live; backends that remain keep their in-flight counts. */
  update(spec: PoolSpec): void {
    if (spec.name !== this.name) throw new TypeError(`pool ${this.name}: update for pool ${spec.name}`);
    const replaced = spec.scheduler !== this.spec.scheduler;
    this.spec = spec;
    if (replaced) {
      this.schedulers = { primary: createScheduler(spec.scheduler), backup: createScheduler(spec.scheduler) };
    }
    const seen = new Set<string>();
    for (const bs of spec.backends) {
      seen.add(bs.name);
      const b = this.backends.get(bs.name);
      if (b === undefined) {
        this.backends.set(bs.name, newRuntime(bs));
        continue;
      }
      b.spec = bs;
      b.removed = false;
      const tier: Tier = bs.backup ? 'backup' : 'primary';
      if (!replaced && tier !== b.countTier) this.moveCounts(b, this.schedulers[b.countTier], this.schedulers[tier]);
      b.countTier = tier;
    }
    for (const [name, b] of this.backends) {
      if (seen.has(name)) continue;
      b.removed = true;
      if (b.active === 0) this.forget(b);
    }
    if (replaced) {
      // A fresh scheduler knows nothing: replay membership (as it was, so no backend looks
      // newly eligible and restarts its slow start) and in-flight counts; refresh then applies
      // whatever else this update changed.
      for (const b of this.backends.values()) {
        if (b.upTier !== undefined) this.schedulers[b.upTier].up(b.spec.name, b.scaledWeight);
        for (let i = 0; i < b.active; i++) this.schedulers[b.countTier].take(b.spec.name);
      }
    }
    if (spec.outlier === undefined) {
      for (const b of this.backends.values()) {
        b.failures = 0;
        b.ejectedUntil = undefined;
      }
    }
    this.refresh(this.now(), false);
  }

  /**
   * The pool left the state: take no new work, and drop each backend's metric series as its
   * in-flight work ends. Outstanding leases stay valid.
   */
  retire(): void {
    this.update({ ...this.spec, backends: [] });
  }

  /** Replace the observed health of this pool's backends (undefined: nothing known yet). */
  setHealth(health: Record<string, BackendHealth> | undefined): void {
    this.health = health;
    this.refresh(this.now(), false);
  }

  /** Effective weight per backend in spec units: fractional while slow-starting, 0 when not eligible. */
  effectiveWeights(): Record<string, number> {
    this.refreshIfDue();
    const out: Record<string, number> = {};
    for (const b of this.backends.values()) if (!b.removed) out[b.spec.name] = b.scaledWeight / WEIGHT_SCALE;
    return out;
  }

  /** Backends currently ejected by passive outlier detection. */
  ejected(): string[] {
    this.refreshIfDue();
    const out: string[] = [];
    for (const b of this.backends.values()) if (b.ejectedUntil !== undefined) out.push(b.spec.name);
    return out;
  }

  /** In-flight work across the pool in this worker. */
  activeConnections(): number {
    let n = 0;
    for (const b of this.backends.values()) n += b.active;
    return n;
  }

  describe(): BackendSnapshot[] {
    this.refreshIfDue();
    return [...this.backends.values()].map((b) => ({
      name: b.spec.name,
      active: b.active,
      eligible: b.upTier !== undefined,
      effectiveWeight: b.scaledWeight / WEIGHT_SCALE,
      ejectedUntil: b.ejectedUntil ?? null,
      full: b.spec.maxConns > 0 && b.active >= b.spec.maxConns,
      state: b.spec.state,
      health: this.spec.healthCheck === undefined ? 'up' : (this.health?.[b.spec.name]?.status ?? 'unknown'),
      backup: b.spec.backup,
      consecutiveFailures: b.failures,
      removed: b.removed,
    }));
  }

  private refreshIfDue(): void {
    const now = this.now();
    if (now >= this.nextDeadline) this.refresh(now, false);
  }

  private lease(b: BackendRuntime): BackendLease {
    b.active++;
    this.schedulers[b.countTier].take(b.spec.name);
    this.gauge(b);
    let released = false;
    return {
      pool: this.name,
      backend: b.spec.name,
      host: b.spec.host,
      port: b.spec.port,
      release: (outcome: LeaseOutcome) => {
        // Engines may release from both an error and a close handler; count the first only.
        if (released) return;
        released = true;
        this.finish(b, outcome);
      },
    };
  }

  private finish(b: BackendRuntime, outcome: LeaseOutcome): void {
    b.active--;
    this.schedulers[b.countTier].drop(b.spec.name);
    this.gauge(b);
    if (b.removed) {
      if (b.active === 0 && this.backends.get(b.spec.name) === b) this.forget(b);
      return;
    }
    const outlier = this.spec.outlier;
    if (outlier === undefined) return;
    switch (outcome) {
      case 'ok':
        b.failures = 0;
        return;
      case 'connect-failure':
      case 'server-error':
        b.failures++;
        if (b.failures >= outlier.consecutiveFailures && b.ejectedUntil === undefined) this.eject(b, outlier.ejectMs);
        return;
      default: {
        const unknown: never = outcome;
        throw new TypeError(`unknown lease outcome: ${String(unknown)}`);
      }
    }
  }

  private eject(b: BackendRuntime, ejectMs: number): void {
    // Never eject the last eligible backend: when every backend fails alike the fault is
    // usually upstream of them (or in the requests), and an empty pool would turn errors into
    // a total outage for ejectMs. The count stays at the threshold, so the next failure after
    // another backend becomes eligible ejects it.
    const eligible = this.eligibleCount.primary + this.eligibleCount.backup;
    if (b.upTier !== undefined && eligible <= 1) return;
    const now = this.now();
    b.ejectedUntil = now + ejectMs;
    b.ejectedAt = now;
    b.failures = 0;
    this.refresh(now, false);
  }

  /**
   * Reconcile every backend's scheduler membership and weight with spec, health, ejection and
   * slow start at `now`. O(backends); runs on spec/health changes and when a deadline passes.
   */
  private refresh(now: number, initial: boolean): void {
    const checked = this.spec.healthCheck !== undefined;
    // Expire ejections first: they take part in deciding whether any backend is known up.
    for (const b of this.backends.values()) {
      if (b.ejectedUntil === undefined) continue;
      const h = this.health?.[b.spec.name];
      // A health transition observed after the ejection supersedes it: the active checker
      // has the last word once it has spoken.
      const superseded = checked && h !== undefined && h.since > b.ejectedAt;
      if (now >= b.ejectedUntil || superseded) {
        b.ejectedUntil = undefined;
        b.failures = 0;
      }
    }
    // HAProxy assumes a server UP until its checks say otherwise (`init-state up`, the
    // default), so a fresh process serves at once. We do the same for 'unknown' (no verdict yet) only while no backend of the pool is
    // known up: at cold start or right after a leader change nothing is proven and the pool
    // must not black-hole traffic for rise*interval; once some backend is proven up, a backend
    // added live waits for its first passing checks (as Envoy does for new hosts) instead of
    // taking traffic it may not be ready for.
    let anyUp = false;
    if (checked) {
      for (const b of this.backends.values()) {
        if (this.admitted(b) && this.health?.[b.spec.name]?.status === 'up') {
          anyUp = true;
          break;
        }
      }
    }
    const count: Record<Tier, number> = { primary: 0, backup: 0 };
    let deadline = Infinity;
    for (const b of this.backends.values()) {
      if (b.ejectedUntil !== undefined) deadline = Math.min(deadline, b.ejectedUntil);
      const h = checked ? this.health?.[b.spec.name] : undefined;
      const status: HealthStatus = checked ? (h?.status ?? 'unknown') : 'up';
      const ok = this.admitted(b) && (status === 'up' || (status === 'unknown' && !anyUp));
      if (!ok) {
        if (b.upTier !== undefined) {
          this.schedulers[b.upTier].down(b.spec.name);
          b.upTier = undefined;
          b.scaledWeight = 0;
          b.wentDownAt = now;
        }
        b.rampFrom = undefined;
        continue;
      }
      if (b.upTier === undefined) b.rampFrom = this.rampStart(b, h, now, initial);
      const ramp = rampStep(b.spec.weight, b.rampFrom, this.spec.slowStartMs, now);
      if (!ramp.ramping) b.rampFrom = undefined;
      deadline = Math.min(deadline, ramp.nextAt);
      const tier: Tier = b.spec.backup ? 'backup' : 'primary';
      if (b.upTier !== tier) {
        if (b.upTier !== undefined) this.schedulers[b.upTier].down(b.spec.name);
        this.schedulers[tier].up(b.spec.name, ramp.scaledWeight);
      } else if (b.scaledWeight !== ramp.scaledWeight) {
        this.schedulers[tier].setWeight(b.spec.name, ramp.scaledWeight);
      }
      b.upTier = tier;
      b.scaledWeight = ramp.scaledWeight;
      count[tier]++;
    }
    this.eligibleCount = count;
    this.nextDeadline = deadline;
  }

  /** Operator intent and ejection allow new work (health aside). */
  private admitted(b: BackendRuntime): boolean {
    return !b.removed && b.spec.state === 'active' && b.spec.weight > 0 && b.ejectedUntil === undefined;
  }

  /**
   * Where a backend that just became eligible starts its slow-start ramp. A health transition
   * to up carries its own time (`since`), which keeps workers that learn of it at different
   * moments on the same ramp; anything else (enable, undrain, ejection over, added live)
   * ramps from now. Backends eligible when the runtime is built do not ramp unless their
   * health came up recently: a restarted worker must not throttle a warm pool.
   */
  private rampStart(b: BackendRuntime, h: BackendHealth | undefined, now: number, initial: boolean): number | undefined {
    if (this.spec.slowStartMs <= 0) return undefined;
    if (h !== undefined && h.status === 'up' && (initial || h.since > b.wentDownAt)) return Math.min(h.since, now);
    return initial ? undefined : now;
  }

  private moveCounts(b: BackendRuntime, from: Scheduler, to: Scheduler): void {
    for (let i = 0; i < b.active; i++) {
      from.drop(b.spec.name);
      to.take(b.spec.name);
    }
  }

  private forget(b: BackendRuntime): void {
    if (b.upTier !== undefined) this.schedulers[b.upTier].down(b.spec.name);
    this.backends.delete(b.spec.name);
    this.metrics?.backendActiveConnections.remove({ pool: this.name, backend: b.spec.name });
  }

  private gauge(b: BackendRuntime): void {
    this.metrics?.backendActiveConnections.set({ pool: this.name, backend: b.spec.name }, b.active);
  }
}

function newRuntime(spec: BackendSpec): BackendRuntime {
  return {
    spec,
    removed: false,
    active: 0,
    countTier: spec.backup ? 'backup' : 'primary',
    upTier: undefined,
    scaledWeight: 0,
    failures: 0,
    ejectedUntil: undefined,
    ejectedAt: 0,
    rampFrom: undefined,
    wentDownAt: -Infinity,
  };
}
