// DataPlane: one worker's running pools and listeners, reconciled live against each new
// DataPlaneState. Unchanged listeners are never touched; changed ones are updated in place;
// only a change of mode or bind address replaces a listener (the old one drains).
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createEdgeRuntime, type EdgeRuntime } from './edge/edge-runtime.js';
import type { EdgeChannel } from './edge/types.js';
import { CacheDirectory } from './cache/directory.js';
import { createCacheMetrics } from './cache/metrics.js';
import { HttpListener } from './http/listener.js';
import { createDataPlaneMetrics, type DataPlaneMetrics } from './metrics.js';
import { PoolRuntime, type BackendSnapshot } from './pool.js';
import { TcpListener } from './tcp/tcp-listener.js';
import { CertificateExpiry } from './tls/certificate-expiry.js';
import { TlsMaterial } from './tls/tls-material.js';
import type { DataPlaneState, ListenerEngine, ListenerSpec } from './types.js';

interface RunningListener {
  spec: ListenerSpec;
  engine: ListenerEngine;
  /** Set once start() settled; errors are kept so the node can report them. */
  error: string | null;
}

export interface ApplyReport {
  version: number;
  /** listener name -> bound port */
  listening: Record<string, number>;
  /** listener name -> why it is not listening */
  errors: Record<string, string>;
}

/**
 * Whether `b` can be applied to the engine running `a` in place. Turning TLS on or off, HTTP/2 or
 * the redirect companion changes what server object listens, so those replace the listener too.
 */
function sameBind(a: ListenerSpec, b: ListenerSpec): boolean {
  const shape = (l: ListenerSpec) => JSON.stringify(l.tls === undefined ? null : [l.tls.http2, l.tls.redirectHttp ?? null]);
  return a.mode === b.mode && a.bind.host === b.bind.host && a.bind.port === b.bind.port && shape(a) === shape(b);
}

export class DataPlane {
  private readonly pools = new Map<string, PoolRuntime>();
  private readonly listeners = new Map<string, RunningListener>();
  /** Replaced listeners still finishing their established connections. */
  private readonly retiring = new Set<ListenerEngine>();
  private readonly metrics: DataPlaneMetrics;
  /** Rate limits, decision metrics and access log files, shared by this worker's listeners. */
  private readonly edge: EdgeRuntime;
  private readonly caches: CacheDirectory;
  /** The cluster's certificates and the node's ticket seed; TLS listeners watch it for swaps. */
  private readonly material = new TlsMaterial();
  private readonly expiry: CertificateExpiry;
  private version = -1;

  constructor(
    private readonly deps: { logger: Logger; registry: Registry; now?: () => number; edgeChannel?: EdgeChannel },
  ) {
    this.metrics = createDataPlaneMetrics(deps.registry);
    this.caches = new CacheDirectory(createCacheMetrics(deps.registry), deps.logger);
    this.expiry = new CertificateExpiry(deps.registry, deps.logger);
    const edgeOpts = { registry: deps.registry, logger: deps.logger };
    this.edge = createEdgeRuntime(deps.edgeChannel === undefined ? edgeOpts : { ...edgeOpts, channel: deps.edgeChannel });
  }

  /** SIGHUP: access log files are reopened (after logrotate moved them). */
  reopenLogs(): void {
    this.edge.sinks.reopen();
  }

  async apply(state: DataPlaneState): Promise<ApplyReport> {
    this.sweepRetiring();
    if (state.version < this.version) return this.report();
    this.version = state.version;
    const now = this.deps.now ?? Date.now;
    // Before listeners: a listener started below must find the certificates it names; running
    // ones hear about changed certificates and swap their contexts (new handshakes only).
    this.material.update(state.certificates, state.ticketSeed);

    // Pools first, so that listeners never see a route to a pool that is not there yet.
    const wantedPools = new Set(state.pools.map((p) => p.name));
    for (const spec of state.pools) {
      const existing = this.pools.get(spec.name);
      if (existing) existing.update(spec);
      else this.pools.set(spec.name, new PoolRuntime(spec, { now, metrics: this.metrics, health: state.health[spec.name] ?? {} }));
      this.pools.get(spec.name)?.setHealth(state.health[spec.name]);
    }

    const starts: Promise<void>[] = [];
    const wantedListeners = new Set(state.listeners.map((l) => l.name));
    for (const [name, running] of this.listeners) {
      if (!wantedListeners.has(name)) {
        this.listeners.delete(name);
        this.retire(running.engine);
      }
    }
    for (const spec of state.listeners) {
      const running = this.listeners.get(spec.name);
      if (running && running.error === null && sameBind(running.spec, spec)) {
        if (JSON.stringify(running.spec) !== JSON.stringify(spec)) {
          running.engine.update(spec);
          running.spec = spec;
        }
        continue;
      }
      if (running) this.retire(running.engine);
      starts.push(this.startListener(spec, running ? 'replaced' : 'new'));
    }
    await Promise.all(starts);
    this.edge.sinks.keepOnly(new Set(state.listeners.flatMap((l) => (l.accessLog === undefined ? [] : [l.accessLog.path]))));
    this.caches.apply(state);

    // Pools go last so that retiring listeners that still reference them keep working.
    for (const name of [...this.pools.keys()]) {
      if (wantedPools.has(name)) continue;
      this.pools.get(name)?.retire();
      this.pools.delete(name);
    }
    return this.report();
  }

  private async startListener(spec: ListenerSpec, why: string): Promise<void> {
    const deps = { pools: (name: string) => this.pools.get(name), metrics: this.metrics, logger: this.deps.logger, edge: this.edge, caches: this.caches };
    const tls = { material: this.material, expiry: this.expiry };
    const engine: ListenerEngine = spec.mode === 'tcp' ? new TcpListener(spec, deps) : new HttpListener(spec, { ...deps, tls });
    const running: RunningListener = { spec, engine, error: null };
    this.listeners.set(spec.name, running);
    try {
      await engine.start();
      this.deps.logger.info({ listener: spec.name, mode: spec.mode, port: engine.port(), why }, 'listener started');
    } catch (err) {
      running.error = (err as Error).message;
      this.deps.logger.error({ listener: spec.name, err: running.error }, 'listener failed to start');
    }
  }

  private retire(engine: ListenerEngine): void {
    this.retiring.add(engine);
    engine.close().catch((err: unknown) => this.deps.logger.warn({ err }, 'closing a retired listener failed'));
  }

  private sweepRetiring(): void {
    for (const e of this.retiring) if (e.activeConnections() === 0) this.retiring.delete(e);
  }

  report(): ApplyReport {
    const listening: Record<string, number> = {};
    const errors: Record<string, string> = {};
    for (const [name, r] of this.listeners) {
      if (r.error !== null) errors[name] = r.error;
      else listening[name] = r.engine.port();
    }
    return { version: this.version, listening, errors };
  }

  poolViews(): Record<string, BackendSnapshot[]> {
    const out: Record<string, BackendSnapshot[]> = {};
    for (const [name, pool] of this.pools) out[name] = pool.describe();
    return out;
  }

  activeConnections(): number {
    let n = 0;
    for (const r of this.listeners.values()) n += r.engine.activeConnections();
    for (const e of this.retiring) n += e.activeConnections();
    return n;
  }

  /**
   * Before a planned VIP move: HTTP listeners close their keep-alive connections on `ip` (null:
   * stop). Returns the HTTP connections still open on it, retiring listeners included.
   */
  closeKeepAliveOn(ip: string | null): number {
    let open = 0;
    for (const e of [...[...this.listeners.values()].map((r) => r.engine), ...this.retiring]) {
      if (e instanceof HttpListener) open += e.closeKeepAliveOn(ip);
    }
    return open;
  }

  /** Stop accepting everywhere, wait up to timeoutMs for established work, then cut the rest. */
  async drain(timeoutMs: number): Promise<void> {
    const engines = [...[...this.listeners.values()].map((r) => r.engine), ...this.retiring];
    await Promise.all(engines.map((e) => e.close().catch(() => undefined)));
    const deadline = Date.now() + timeoutMs;
    while (engines.some((e) => e.activeConnections() > 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const e of engines) e.destroy();
    this.edge.sinks.flush();
    this.expiry.close();
  }
}
