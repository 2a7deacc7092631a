// WorkerSupervisor: forks the data-plane worker processes (node:cluster, SCHED_NONE so the kernel
// spreads accepts and the node never touches client bytes), pushes them each state over a local
// net-ipc socket, restarts the ones that die with backoff, and aggregates their metrics.
import cluster, { type Worker } from 'node:cluster';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Server, type Connection } from 'net-ipc';
import type { Logger } from 'pino';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue, type Registry } from 'prom-client';
import { EdgeAuthority } from './edge/edge-authority.js';
import { LISTENER_IN_FLIGHT } from './metrics.js';
import type { BackendSnapshot } from './pool.js';
import type { DataPlaneState, EdgeNodeMessage, EdgeRequest, EdgeWorkerMessage, NodeToWorker, WorkerRequest, WorkerToNode, WorkerVipRequest } from './types.js';

export interface SupervisorOptions {
  count: number;
  /** Unix socket path for the node <-> worker channel. */
  ipcPath: string;
  logger: Logger;
  /** Extra environment for workers (log level...). */
  env?: Record<string, string>;
}

interface Slot {
  id: string;
  worker: Worker | null;
  conn: Connection | null;
  appliedVersion: number;
  listening: Record<string, number>;
  errors: Record<string, string>;
  crashes: number[];
}

const RESTART_WINDOW_MS = 60_000;

function workerEntry(): { exec: string; execArgv: string[] } {
  const fromSource = import.meta.url.endsWith('.ts');
  const exec = fileURLToPath(new URL(fromSource ? './worker.ts' : './worker.js', import.meta.url));
  // Running from TypeScript sources (a checkout): workers need the same loader as we do.
  const execArgv = fromSource ? ['--import', import.meta.resolve('tsx')] : [];
  return { exec, execArgv };
}

export class WorkerSupervisor extends EventEmitter {
  private readonly slots: Slot[] = [];
  private readonly server: Server;
  private state: DataPlaneState | null = null;
  private stopping = false;
  /** Node-wide edge state the workers share: rate limit buckets, per-address connection counts. */
  readonly edge = new EdgeAuthority();
  private edgeSweep: NodeJS.Timeout | undefined;

  constructor(private readonly opts: SupervisorOptions) {
    super();
    this.server = new Server({ path: opts.ipcPath });
    for (let i = 1; i <= opts.count; i++) {
      this.slots.push({ id: `w${i}`, worker: null, conn: null, appliedVersion: -1, listening: {}, errors: {}, crashes: [] });
    }
  }

  async start(): Promise<void> {
    this.server.on('connect', (conn: Connection, payload?: { worker?: string }) => {
      const slot = this.slots.find((s) => s.id === payload?.worker);
      if (!slot) {
        void conn.close('unknown worker');
        return;
      }
      slot.conn = conn;
      if (this.state) this.sendTo(slot, { type: 'state', state: this.state });
    });
    this.server.on('disconnect', (conn: Connection) => {
      for (const s of this.slots) {
        if (s.conn !== conn) continue;
        s.conn = null;
        this.edge.forget(s.id);
      }
    });
    this.server.on('request', (req: EdgeRequest, respond: (data: unknown) => Promise<void>, conn: Connection) => {
      const slot = this.slots.find((s) => s.conn === conn);
      if (!slot || (req.type !== 'edge.take' && req.type !== 'edge.conn-open')) return;
      respond(this.edge.handle(req, slot.id)).catch((err: unknown) => this.opts.logger.debug({ err }, 'edge answer to worker failed'));
    });
    this.server.on('message', (msg: WorkerToNode | EdgeWorkerMessage, conn: Connection) => {
      const slot = this.slots.find((s) => s.conn === conn);
      if (slot && msg.type === 'edge.conn-close') {
        this.edge.close(msg.key, slot.id);
        return;
      }
      if (!slot || msg.type !== 'applied') return;
      slot.appliedVersion = msg.version;
      slot.listening = msg.listening;
      slot.errors = msg.errors;
      this.emit('applied', slot.id, msg);
    });
    this.server.on('error', (err: unknown) => this.opts.logger.warn({ err }, 'worker channel error'));
    await this.server.start();
    this.edgeSweep = setInterval(() => this.edge.sweep(), 10_000);
    this.edgeSweep.unref();

    cluster.schedulingPolicy = cluster.SCHED_NONE;
    cluster.setupPrimary({ ...workerEntry(), silent: false });
    for (const slot of this.slots) this.fork(slot);
  }

  private fork(slot: Slot): void {
    const worker = cluster.fork({ ...this.opts.env, BALLAST_IPC_PATH: this.opts.ipcPath, BALLAST_WORKER_ID: slot.id });
    slot.worker = worker;
    slot.appliedVersion = -1;
    worker.on('exit', (code, signal) => {
      slot.worker = null;
      slot.conn = null;
      this.edge.forget(slot.id);
      if (this.stopping) return;
      const now = Date.now();
      slot.crashes = [...slot.crashes.filter((t) => now - t < RESTART_WINDOW_MS), now];
      // Back off a crash loop (bad state, port taken) instead of burning a core on restarts.
      const delay = Math.min(30_000, 100 * 2 ** (slot.crashes.length - 1));
      this.opts.logger.error({ worker: slot.id, code, signal, restartInMs: delay }, 'worker exited; restarting');
      setTimeout(() => {
        if (!this.stopping) this.fork(slot);
      }, delay).unref();
    });
  }

  /** SIGHUP: every worker reopens its access log files. */
  reopenLogs(): void {
    const msg: EdgeNodeMessage = { type: 'edge.reopen-logs' };
    for (const slot of this.slots) slot.conn?.send(msg).catch((err: unknown) => this.opts.logger.warn({ err, worker: slot.id }, 'reopen-logs to worker failed'));
  }

  private sendTo(slot: Slot, msg: NodeToWorker): void {
    slot.conn?.send(msg).catch((err: unknown) => this.opts.logger.warn({ err, worker: slot.id }, 'push to worker failed'));
  }

  pushState(state: DataPlaneState): void {
    this.state = state;
    for (const slot of this.slots) this.sendTo(slot, { type: 'state', state });
  }

  /** Resolves once every worker has applied at least `version` (or rejects after timeoutMs). */
  async waitApplied(version: number, timeoutMs: number): Promise<void> {
    const done = () => this.slots.every((s) => s.appliedVersion >= version);
    if (done()) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('applied', check);
        reject(new Error(`workers did not apply state version ${version} within ${timeoutMs}ms`));
      }, timeoutMs);
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        this.off('applied', check);
        resolve();
      };
      this.on('applied', check);
    });
  }

  /** Per worker: listening ports and listener errors as last reported. */
  status(): { id: string; pid: number | null; appliedVersion: number; listening: Record<string, number>; errors: Record<string, string> }[] {
    return this.slots.map((s) => ({
      id: s.id,
      pid: s.worker?.process.pid ?? null,
      appliedVersion: s.appliedVersion,
      listening: s.listening,
      errors: s.errors,
    }));
  }

  pids(): number[] {
    return this.slots.flatMap((s) => (s.worker?.process.pid ? [s.worker.process.pid] : []));
  }

  private async ask<T>(req: WorkerRequest): Promise<T[]> {
    const answers = await Promise.allSettled(
      this.slots.flatMap((s) => (s.conn ? [s.conn.request(req, 2000) as Promise<T>] : [])),
    );
    return answers.flatMap((a) => (a.status === 'fulfilled' ? [a.value] : []));
  }

  /** Workers' metrics summed into one registry (counters and gauges add up across workers). */
  async metrics(): Promise<Registry> {
    const perWorker = await this.ask<MetricObjectWithValues<MetricValue<string>>[]>({ type: 'metrics' });
    return AggregatorRegistry.aggregate(perWorker);
  }

  /**
   * Work in flight across the workers (requests being served, connections yet to send one, open TCP
   * listener connections; see DataPlaneMetrics.listenerInFlight), or null when a running worker did
   * not answer within `timeoutMs`, so nobody can say it is idle.
   */
  async inFlight(timeoutMs = 1000): Promise<number | null> {
    const byWorker = await this.inFlightByWorker(timeoutMs);
    let total = 0;
    for (const n of Object.values(byWorker)) {
      if (n === null) return null;
      total += n;
    }
    return total;
  }

  /** Each live worker's in-flight count (null: it did not answer within timeoutMs, or is not connected yet). */
  async inFlightByWorker(timeoutMs = 1000): Promise<Record<string, number | null>> {
    const live = this.slots.filter((s) => s.worker !== null);
    const answers = await Promise.allSettled(
      live.map((s) =>
        s.conn === null ? Promise.reject(new Error('not connected')) : (s.conn.request({ type: 'metrics' } satisfies WorkerRequest, timeoutMs) as Promise<MetricObjectWithValues<MetricValue<string>>[]>),
      ),
    );
    const out: Record<string, number | null> = {};
    answers.forEach((a, i) => {
      const id = live[i]?.id ?? `w?${i}`;
      if (a.status !== 'fulfilled') {
        out[id] = null;
        return;
      }
      const family = a.value.find((m) => m.name === LISTENER_IN_FLIGHT);
      out[id] = (family?.values ?? []).reduce((n, v) => n + v.value, 0);
    });
    return out;
  }

  /**
   * Before a planned VIP move: every worker closes its keep-alive connections on `ip` (null: stops).
   * Per worker, the HTTP connections still open on it (null: no answer within timeoutMs).
   */
  async closeKeepAliveOn(ip: string | null, timeoutMs = 1000): Promise<Record<string, number | null>> {
    const live = this.slots.filter((s) => s.worker !== null);
    const answers = await Promise.allSettled(
      live.map((s) => (s.conn === null ? Promise.reject(new Error('not connected')) : (s.conn.request({ type: 'vip-keep-alive', ip } satisfies WorkerVipRequest, timeoutMs) as Promise<number>))),
    );
    const out: Record<string, number | null> = {};
    answers.forEach((a, i) => {
      out[live[i]?.id ?? `w?${i}`] = a.status === 'fulfilled' && typeof a.value === 'number' ? a.value : null;
    });
    return out;
  }

  /** Pool views merged across workers: active counts add up, eligibility is any worker's view. */
  async poolViews(): Promise<Record<string, BackendSnapshot[]>> {
    const perWorker = await this.ask<Record<string, BackendSnapshot[]>>({ type: 'pools' });
    const merged: Record<string, Map<string, BackendSnapshot>> = {};
    for (const views of perWorker) {
      for (const [pool, backends] of Object.entries(views)) {
        const m = (merged[pool] ??= new Map());
        for (const b of backends) {
          const prev = m.get(b.name);
          m.set(b.name, prev ? { ...b, active: prev.active + b.active, eligible: prev.eligible || b.eligible } : { ...b });
        }
      }
    }
    return Object.fromEntries(Object.entries(merged).map(([k, m]) => [k, [...m.values()]]));
  }

  /** Ask every worker to drain within drainMs, then make sure they are gone. */
  async stop(drainMs: number): Promise<void> {
    this.stopping = true;
    clearInterval(this.edgeSweep);
    const exits = this.slots.flatMap((s) =>
      s.worker ? [new Promise<void>((resolve) => s.worker?.once('exit', () => resolve()))] : [],
    );
    for (const slot of this.slots) this.sendTo(slot, { type: 'drain', timeoutMs: drainMs });
    const killer = setTimeout(() => {
      for (const s of this.slots) s.worker?.process.kill('SIGKILL');
    }, drainMs + 3000);
    await Promise.all(exits);
    clearTimeout(killer);
    await this.server.close().catch(() => undefined);
  }
}
