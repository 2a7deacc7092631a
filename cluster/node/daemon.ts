// BallastNode: the daemon behind `ballast start`. Wires the state store, the data-plane workers,
// the health monitor and the admin app; stops in the order that loses no work.
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import type { NodeConfig } from '../../config/types.js';
import { realClock } from '../../lb/health/clock.js';
import { HttpChecker } from '../../lb/health/http-checker.js';
import { HealthMonitor } from '../../lb/health/monitor.js';
import { TcpChecker } from '../../lb/health/tcp-checker.js';
import type { HealthTransition } from '../../lb/health/types.js';
import { WorkerSupervisor } from '../../lb/worker-supervisor.js';
import { buildApp, type AdminApp } from '../../web/app.js';
import { LocalStateStore } from './local-store.js';
import type { StateStore } from './types.js';

export interface NodeOptions {
  config: NodeConfig;
  logger: Logger;
  /** How long SIGTERM lets established connections finish. */
  drainMs?: number;
}

function ipcPathFor(dataDir: string, nodeId: string): string {
  const inData = join(dataDir, 'workers.sock');
  // Unix socket paths are limited to 107 bytes.
  return inData.length < 100 ? inData : join(tmpdir(), `ballast-${nodeId}-${process.pid}.sock`);
}

export class BallastNode {
  store: StateStore | null = null;
  supervisor: WorkerSupervisor | null = null;
  health: HealthMonitor | null = null;
  readonly registry = new Registry();
  private admin: AdminApp | null = null;
  private ready = false;
  private stopping = false;

  constructor(private readonly opts: NodeOptions) {}

  async start(): Promise<void> {
    const { config, logger } = this.opts;
    await mkdir(config.node.dataDir, { recursive: true });
    const store = await LocalStateStore.open(config.node.dataDir);
    this.store = store;
    if (store.read().listeners.length === 0 && store.read().pools.length === 0) {
      const r = await store.propose({ v: 1, op: 'bootstrap', listeners: config.bootstrap.listeners, pools: config.bootstrap.pools });
      if (!r.ok) throw new Error(`bootstrap refused: ${r.error.field}: ${r.error.message}`);
      logger.info({ listeners: config.bootstrap.listeners.length, pools: config.bootstrap.pools.length }, 'applied bootstrap from config');
    }

    const supervisor = new WorkerSupervisor({
      count: config.node.workers,
      ipcPath: ipcPathFor(config.node.dataDir, config.node.id),
      logger,
      env: { BALLAST_LOG_LEVEL: logger.level },
    });
    this.supervisor = supervisor;
    await supervisor.start();
    supervisor.pushState(store.read());
    store.onChange((state) => supervisor.pushState(state));

    this.startHealthChecks(store);

    this.admin = buildApp({ logger, isReady: () => this.readiness(), listenerPorts: () => this.listenerPorts() });
    await this.admin.listen({ host: config.node.adminListen.host, port: config.node.adminListen.port });

    await supervisor.waitApplied(store.read().version, 30_000);
    this.ready = true;
    logger.info({ node: config.node.id, admin: this.adminUrl() }, 'node ready');
  }

  /** Active checks run here, in the control plane; transitions are committed like any change. */
  private startHealthChecks(store: StateStore): void {
    const { logger } = this.opts;
    const monitor = new HealthMonitor({
      clock: realClock,
      random: Math.random,
      checkers: { tcp: new TcpChecker(), http: new HttpChecker() },
      logger: logger.child({ component: 'health' }),
      registry: this.registry,
      onTransition: (t: HealthTransition) => {
        store
          .propose({ v: 1, op: 'health.set', pool: t.pool, backend: t.backend, health: { status: t.to, reason: t.reason, since: t.at } })
          .catch((err: unknown) => logger.error({ err, pool: t.pool, backend: t.backend }, 'could not record a health transition'));
      },
    });
    this.health = monitor;
    const state = store.read();
    monitor.update(state.pools, state.health, { recheckNow: true });
    store.onChange((s) => monitor.update(s.pools, s.health));
  }

  private readiness(): { ready: boolean; reason: string } {
    if (this.stopping) return { ready: false, reason: 'stopping' };
    if (!this.ready) return { ready: false, reason: 'starting' };
    const errors = this.supervisor?.status().flatMap((w) => Object.entries(w.errors).map(([l, e]) => `${w.id} ${l}: ${e}`)) ?? [];
    if (errors.length) return { ready: false, reason: `listeners failing: ${errors.join('; ')}` };
    return { ready: true, reason: 'serving' };
  }

  adminUrl(): string {
    const addr = this.admin?.server.address();
    if (!addr || typeof addr === 'string') return '';
    return `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
  }

  /** Ports the workers bound, by listener name (from the first worker that reported). */
  listenerPorts(): Record<string, number> {
    const ws = this.supervisor?.status() ?? [];
    return Object.assign({}, ...ws.map((w) => w.listening)) as Record<string, number>;
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const drainMs = this.opts.drainMs ?? 10_000;
    await this.health?.stop();
    await this.supervisor?.stop(drainMs);
    await this.admin?.close();
    await this.store?.close();
    this.opts.logger.info('node stopped');
  }
}
