// BallastNode: the daemon behind `ballast start`. Wires the state store (Raft when the config names
// peers), the data-plane workers, the health monitor (run by the leader only), the VIP and the admin
// app; stops in the order that loses no work.
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { formatAddress } from '../../config/address.js';
import type { NodeConfig } from '../../config/types.js';
import { realClock } from '../../lb/health/clock.js';
import { HttpChecker } from '../../lb/health/http-checker.js';
import { HealthMonitor } from '../../lb/health/monitor.js';
import { TcpChecker } from '../../lb/health/tcp-checker.js';
import type { HealthTransition } from '../../lb/health/types.js';
import { sealInlineKeys } from '../../lb/tls/inline-keys.js';
import type { SealKey } from '../../lb/tls/key-seal.js';
import { workerState } from '../../lb/tls/worker-secrets.js';
import type { DataPlaneState } from '../../lb/types.js';
import { WorkerSupervisor } from '../../lb/worker-supervisor.js';
import { bootstrapAccess } from '../../web/access-bootstrap.js';
import { buildApp, type AdminApp } from '../../web/app.js';
import type { SoftState } from '../raft/types.js';
import type { AccessSource } from '../state/types.js';
import { NetIpcTransport } from '../transport/ipc-transport.js';
import { createVipDriver } from '../vip/driver.js';
import { orphanVipSpec } from '../vip/orphan-release.js';
import { runtimeDirectory, writeStopRecord } from '../vip/stop-record.js';
import { watchStalls, type StallWatch } from './stall-watch.js';
import { LeadershipTransfer } from './leadership-transfer.js';
import { LocalStateStore } from './local-store.js';
import { createNodeReportBoard } from './node-report.js';
import type { PeerReports } from './peer-reports.js';
import { RaftStateStore, type PeerMessage } from './raft-store.js';
import { sealKeyFor } from './seal-secret.js';
import type { ClusterView, RaftRole, StateStore } from './types.js';
import { VipHolder } from './vip-holder.js';

export interface NodeOptions {
  config: NodeConfig;
  logger: Logger;
  /** How long SIGTERM lets established connections finish. */
  drainMs?: number;
}

/** The replicated listeners say what to serve; where on this host is the node's own business. */
function localize(state: DataPlaneState, listenHost: string | null): DataPlaneState {
  if (!listenHost) return state;
  const wild = (h: string) => h === '0.0.0.0' || h === '::';
  return { ...state, listeners: state.listeners.map((l) => (wild(l.bind.host) ? { ...l, bind: { ...l.bind, host: listenHost } } : l)) };
}

function ipcPathFor(dataDir: string, nodeId: string): string {
  const inData = join(dataDir, 'workers.sock');
  // Unix socket paths are limited to 107 bytes.
  return inData.length < 100 ? inData : join(tmpdir(), `ballast-${nodeId}-${process.pid}.sock`);
}

/** A one-node cluster's VIP raise that failed is tried again this often. */
const SOLO_VIP_RETRY_MS = 5000;

export class BallastNode {
  store: (StateStore & AccessSource) | null = null;
  /** Set when this node is a member of a Raft cluster (the config names peers). */
  raft: RaftStateStore | null = null;
  supervisor: WorkerSupervisor | null = null;
  health: HealthMonitor | null = null;
  vip: VipHolder | null = null;
  /** What every node reports about itself to its peers (GET /api/v1/nodes). */
  reports: PeerReports | null = null;
  readonly registry = new Registry();
  private admin: AdminApp | null = null;
  private ready = false;
  private stopping = false;
  /** The start in progress: a stop that arrives during it (systemctl stop of a slow boot) waits for it, or start would bring up what stop already tore down. */
  private starting: Promise<void> | null = null;
  private leading = false;
  /** performance.now() when this node last became leader. */
  private leadingSince = 0;
  private shareTimer: NodeJS.Timeout | undefined;
  private soloVipTimer: NodeJS.Timeout | undefined;
  private stalls: StallWatch | null = null;
  /** Opens (and seals, for the API) certificate keys in the replicated state. */
  private sealKey: SealKey | null = null;
  /** Session-ticket keys of every worker derive from this: a ticket from one resumes on another. */
  private readonly ticketSeed = randomBytes(32);
  /** certificate name -> the unseal error last logged, so a state change does not repeat it. */
  private unsealErrors: Record<string, string> = {};
  private readonly transfer: LeadershipTransfer;

  constructor(private readonly opts: NodeOptions) {
    this.transfer = new LeadershipTransfer({
      raft: () => this.raft,
      vip: () => this.vip,
      supervisor: () => this.supervisor,
      logger: opts.logger,
      drainMs: opts.config.cluster.vip?.handOverDrainMs ?? 2000,
      electionTimeoutMs: opts.config.cluster.electionTimeoutMs,
    });
  }

  get clustered(): boolean {
    return this.opts.config.cluster.peers.length > 1;
  }

  start(): Promise<void> {
    this.starting ??= this.startOnce();
    return this.starting;
  }

  private async startOnce(): Promise<void> {
    const { config, logger } = this.opts;
    // A third of the election timeout: long enough to ignore GC pauses, early enough to explain a flap.
    this.stalls = watchStalls(logger, Math.max(200, Math.round(config.cluster.electionTimeoutMs / 3)), config.cluster.electionTimeoutMs);
    await mkdir(config.node.dataDir, { recursive: true });
    this.sealKey = sealKeyFor(config.cluster.secret, config.node.dataDir);
    this.health = this.createHealthMonitor();

    if (config.cluster.vip) {
      const driver = createVipDriver(config.cluster.vip, { logger: logger.child({ component: 'vip' }) });
      await driver.check();
      // A crashed run (kill -9 skips the release) leaves the VIP on the interface; a starting node leads nothing.
      await driver.release();
      const record = await writeStopRecord(runtimeDirectory(), config.cluster.vip);
      if (record) logger.info({ record }, 'VIP stop record written for ExecStopPost');
      const onRaiseFailed = this.clustered
        ? () => this.transfer.stepDown('the VIP could not be raised')
        : () => logger.warn(`one-node cluster: raising the VIP again in ${SOLO_VIP_RETRY_MS / 1000} s`);
      this.vip = new VipHolder(driver, logger, onRaiseFailed);
    }

    let store: StateStore & AccessSource;
    if (this.clustered) {
      store = await this.startRaft();
    } else {
      store = await LocalStateStore.open(config.node.dataDir);
      this.store = store;
      this.leading = true;
      this.leadingSince = performance.now();
      await this.bootstrapIfEmpty();
      this.followHealth(true);
      this.holdVipAlone();
    }
    this.store = store;

    const supervisor = new WorkerSupervisor({
      count: config.node.workers,
      ipcPath: ipcPathFor(config.node.dataDir, config.node.id),
      logger,
      env: { BALLAST_LOG_LEVEL: logger.level, ...orphanVipSpec(config.cluster.vip) },
    });
    this.supervisor = supervisor;
    await supervisor.start();
    this.followClusterShare(supervisor);
    this.reports = createNodeReportBoard({ nodeId: config.node.id, logger, clusterView: () => this.clusterView(), raft: () => this.raft, metrics: () => supervisor.metrics() });
    const listenHost = config.node.listenHost;
    supervisor.pushState(this.forWorkers(store.read(), listenHost));
    store.onChange((state) => {
      supervisor.pushState(this.forWorkers(state, listenHost));
      if (this.leading) this.health?.update(state.pools, state.health);
    });

    this.admin = buildApp({
      logger,
      nodeId: config.node.id,
      store,
      isReady: () => this.readiness(),
      listenerPorts: () => this.listenerPorts(),
      role: () => {
        const v = this.clusterView();
        return { id: v.nodeId, role: v.nodes.find((n) => n.id === v.nodeId)?.role ?? 'unknown', leader: v.leader, vipHeld: this.vip?.isHeld() ?? false };
      },
      clusterView: () => this.clusterView(),
      workers: supervisor,
      registry: this.registry,
      transferLeadership: (to) => this.transferLeadership(to ?? undefined),
      ...(this.sealKey === null ? {} : { sealKey: this.sealKey }),
      nodeReports: this.reports,
      readBarrier: this.raft ? (timeoutMs) => this.raft?.readBarrier(timeoutMs) ?? Promise.resolve() : null,
    });
    await this.admin.listen({ host: config.node.adminListen.host, port: config.node.adminListen.port });
    this.reports.start();

    await supervisor.waitApplied(store.read().version, 30_000);
    this.ready = true;
    logger.info({ node: config.node.id, admin: this.adminUrl(), clustered: this.clustered }, 'node ready');
  }

  /** The state as this node's workers run it: local binds, certificate keys unsealed, the ticket seed. */
  private forWorkers(state: DataPlaneState, listenHost: string | null): DataPlaneState {
    const report = workerState(localize(state, listenHost), this.sealKey, this.ticketSeed);
    for (const [name, reason] of Object.entries(report.errors)) {
      if (this.unsealErrors[name] !== reason) this.opts.logger.error({ certificate: name }, `certificate key stays sealed: ${reason}`);
    }
    this.unsealErrors = report.errors;
    return report.state;
  }

  /**
   * A one-node appliance is always the active node: it holds the VIP from start to stop. A raise that
   * fails (interface down, address taken) is retried, as keepalived keeps trying, rather than given up.
   */
  private holdVipAlone(): void {
    const vip = this.vip;
    if (!vip) return;
    const always = { valid: true, validUntil: Number.POSITIVE_INFINITY };
    const self = { role: 'leader' as const, leader: this.opts.config.node.id, term: 1 };
    const sync = (): void => void vip.sync(always, self);
    sync();
    this.soloVipTimer = setInterval(sync, SOLO_VIP_RETRY_MS);
    this.soloVipTimer.unref();
  }

  private async startRaft(): Promise<RaftStateStore> {
    const { config, logger } = this.opts;
    if (!config.node.clusterListen || !config.cluster.secret) {
      throw new Error('a clustered node needs node.clusterListen and cluster.secret');
    }
    const transport = new NetIpcTransport<PeerMessage>({
      id: config.node.id,
      listen: config.node.clusterListen,
      peers: config.cluster.peers.map((p) => ({ id: p.id, host: p.address.host, port: p.address.port })),
      secret: config.cluster.secret,
      connectTimeoutMs: config.cluster.peerConnectTimeoutMs,
      logger: logger.child({ component: 'transport' }),
    });
    const raft = new RaftStateStore({
      id: config.node.id,
      voters: config.cluster.peers.map((p) => p.id),
      dataDir: config.node.dataDir,
      transport,
      logger: logger.child({ component: 'raft' }),
      heartbeatMs: config.cluster.heartbeatMs,
      electionTimeoutMs: config.cluster.electionTimeoutMs,
      electionJitterMs: config.cluster.electionJitterMs,
      snapshotEvery: config.cluster.snapshotCount,
      onRole: (soft) => this.onRole(soft),
      onLease: (lease, soft) => this.vip?.sync(lease, soft),
      onReport: (from, report) => this.reports?.receive(from, report),
      onTransferRequest: (to) => {
        this.transferLeadership(to).catch((err: unknown) => logger.warn({ err, to }, 'forwarded leadership transfer refused'));
      },
    });
    this.raft = raft;
    this.store = raft;
    await raft.start();
    return raft;
  }

  private onRole(soft: SoftState): void {
    const leading = soft.role === 'leader';
    if (leading === this.leading) return;
    this.leading = leading;
    if (leading) this.leadingSince = performance.now();
    if (leading) void this.bootstrapIfEmpty();
    this.followHealth(leading);
  }

  /** Only the leader runs active checks; a new leader starts warm from the replicated health and re-checks at once. */
  private followHealth(leading: boolean): void {
    const state = this.store?.read();
    if (!this.health || !state) return;
    if (leading) this.health.update(state.pools, state.health, { recheckNow: true });
    else this.health.update([], {});
  }

  private async bootstrapIfEmpty(): Promise<void> {
    const { config, logger } = this.opts;
    const store = this.store;
    if (!store) return;
    await bootstrapAccess(store, config.admin, logger);
    const s = store.read();
    if (s.listeners.length > 0 || s.pools.length > 0) return;
    if (config.bootstrap.listeners.length === 0 && config.bootstrap.pools.length === 0) return;
    try {
      // Idempotent: the state machine applies a bootstrap only to an empty state.
      const seal = this.sealKey;
      const listeners = seal === null ? config.bootstrap.listeners : config.bootstrap.listeners.map((l) => sealInlineKeys(l, seal));
      const r = await store.propose({ v: 1, op: 'bootstrap', listeners, pools: config.bootstrap.pools });
      if (!r.ok) logger.error({ field: r.error.field }, `bootstrap refused: ${r.error.message}`);
      else logger.info({ listeners: config.bootstrap.listeners.length, pools: config.bootstrap.pools.length }, 'applied bootstrap from config');
    } catch (err) {
      logger.warn({ err }, 'bootstrap not committed yet; the next leader retries');
    }
  }

  private createHealthMonitor(): HealthMonitor {
    const { logger } = this.opts;
    return new HealthMonitor({
      clock: realClock,
      random: Math.random,
      checkers: { tcp: new TcpChecker(), http: new HttpChecker() },
      logger: logger.child({ component: 'health' }),
      registry: this.registry,
      onTransition: (t: HealthTransition) => {
        // A check that finishes just after a step-down is no longer ours to report.
        if (!this.leading) return;
        this.store
          ?.propose({ v: 1, op: 'health.set', pool: t.pool, backend: t.backend, health: { status: t.to, reason: t.reason, since: t.at } })
          .catch((err: unknown) => {
            logger.error({ err, pool: t.pool, backend: t.backend }, 'could not record a health transition');
            // Fall back to the committed view so the next check reports the transition again.
            const committed = this.store?.read().health;
            if (committed) this.health?.adopt(committed);
          });
      },
    });
  }

  /** transfer-leadership (REST, or forwarded by a follower): drains the VIP, then hands over. */
  transferLeadership(to?: string): Promise<string> {
    return this.transfer.transfer(to);
  }

  clusterView(): ClusterView {
    const { config } = this.opts;
    const vipAddress = config.cluster.vip?.address ?? null;
    if (!this.raft) {
      return {
        nodeId: config.node.id,
        leader: config.node.id,
        term: 1,
        commitIndex: this.store?.read().version ?? 0,
        leadingForMs: Math.round(performance.now() - this.leadingSince),
        vip: { address: vipAddress, holder: this.vip?.isHeld() ? config.node.id : null, heldForMs: this.vip?.heldForMs() ?? null },
        nodes: [{ id: config.node.id, address: formatAddress(config.node.adminListen), role: 'leader', roleFrom: 'raft', lastContactMs: 0, matchIndex: null }],
      };
    }
    const s = this.raft.status();
    const leading = s.role === 'leader';
    return {
      nodeId: config.node.id,
      leader: s.leader,
      term: s.term,
      commitIndex: s.commit,
      // Only the holder itself knows for sure; followers name the leader, which holds it while its lease is valid.
      leadingForMs: leading && this.leading ? Math.round(performance.now() - this.leadingSince) : null,
      vip: { address: vipAddress, holder: this.vip?.isHeld() ? config.node.id : leading ? null : s.leader, heldForMs: this.vip?.heldForMs() ?? null },
      nodes: config.cluster.peers.map((p) => {
        const self = p.id === config.node.id;
        const pr = s.progress[p.id];
        const known = self ? s.role : p.id === s.leader ? 'leader' : leading && pr ? (pr.isLearner ? 'learner' : 'follower') : null;
        const reported = known === null ? this.reportedRole(p.id, s.term) : null;
        return {
          id: p.id,
          address: formatAddress(p.address),
          role: known ?? reported ?? 'unknown',
          roleFrom: known !== null ? 'raft' : reported !== null ? 'report' : null,
          lastContactMs: self ? 0 : (this.raft?.lastContactMs(p.id) ?? null),
          matchIndex: self ? s.lastIndex : (pr?.match ?? null),
        };
      }),
    };
  }

  /**
   * A follower does not track the other followers: it takes the role a peer reported of itself,
   * but only from a fresh report of this term (an older one may predate an election).
   */
  private reportedRole(id: string, term: number): RaftRole | null {
    const raft = this.reports?.freshRaft(id);
    return raft && raft.term === term && raft.role !== 'unknown' ? raft.role : null;
  }

  private readiness(): { ready: boolean; reason: string } {
    if (this.stopping) return { ready: false, reason: 'stopping' };
    if (!this.ready) return { ready: false, reason: 'starting' };
    if (this.raft && !this.raft.status().leader) return { ready: false, reason: 'no leader known: waiting for the cluster' };
    const version = this.store?.read().version ?? 0;
    const workers = this.supervisor?.status() ?? [];
    if (workers.some((w) => w.appliedVersion < version)) return { ready: false, reason: `workers applying state version ${version}` };
    const errors = workers.flatMap((w) => Object.entries(w.errors).map(([l, e]) => `${w.id} ${l}: ${e}`));
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

  /**
   * Cluster-scoped rate limits: each node enforces 1/N of the limit, N the live nodes. The leader
   * counts voters it heard from recently; a follower hears only the leader, so it assumes every
   * configured peer is up. No per-request traffic between nodes: that is the precision given up.
   */
  private followClusterShare(supervisor: WorkerSupervisor): void {
    const { config } = this.opts;
    const update = (): void => {
      if (!this.raft) return supervisor.edge.setClusterShare(1);
      const leading = this.raft.status().role === 'leader';
      const recent = config.cluster.electionTimeoutMs * 3;
      const live = leading
        ? config.cluster.peers.filter((p) => p.id === config.node.id || (this.raft?.lastContactMs(p.id) ?? Infinity) < recent).length
        : config.cluster.peers.length;
      supervisor.edge.setClusterShare(live);
    };
    update();
    this.shareTimer = setInterval(update, 2000);
    this.shareTimer.unref();
  }

  /** SIGHUP: workers reopen their access log files (logrotate). */
  reopenLogs(): void {
    this.supervisor?.reopenLogs();
  }

  /** SIGTERM: drain and release the VIP, hand over leadership, drain the workers, leave. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await this.starting?.catch(() => undefined);
    clearInterval(this.shareTimer);
    clearInterval(this.soloVipTimer);
    this.stalls?.stop();
    this.reports?.stop();
    const { logger } = this.opts;
    await this.transfer.handOverBeforeStop();
    this.leading = false;
    this.health?.update([], {});
    await this.health?.stop();
    await this.supervisor?.stop(this.opts.drainMs ?? 10_000);
    await this.admin?.close();
    await this.store?.close();
    logger.info('node stopped');
  }
}
