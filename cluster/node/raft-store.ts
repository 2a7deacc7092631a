// RaftStateStore: the StateStore of a cluster member. Drives the pure Raft core (cluster/raft)
// with a timer, the disk WAL (cluster/storage) and the peer transport (cluster/transport), applies
// committed commands to the state machine, forwards writes from followers to the leader, and
// reports role and lease changes so the node can move the VIP and the health checks.
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { DataPlaneState } from '../../lb/types.js';
import { RaftError } from '../raft/errors.js';
import { MemoryStorage } from '../raft/memory-storage.js';
import { RawNode } from '../raft/raw-node.js';
import type { ConfState, Entry, LeaseState, Message, NodeId, RaftConfig, RaftStatus, Ready, SoftState } from '../raft/types.js';
import { StateMachine } from '../state/machine.js';
import type { AccessReader, ApplyResult, StateCommand } from '../state/types.js';
import { StateError } from '../state/errors.js';
import { openDurableLog } from '../storage/file-log.js';
import type { DurableLog } from '../storage/types.js';
import type { Transport } from '../transport/types.js';
import { ClusterError } from './errors.js';
import type { NodeReport, StateStore } from './types.js';

export type PeerMessage =
  | { kind: 'raft'; m: Message }
  | { kind: 'propose'; req: number; cmd: StateCommand }
  | { kind: 'proposed'; req: number; result: ApplyResult | null; error: { code: string; message: string } | null }
  /** A follower asks the leader to hand leadership to `to` (an operator acted on the follower's API). */
  | { kind: 'transfer'; to: NodeId }
  /** A node's own report (Raft view, host stats, traffic), sent to every peer every few seconds. */
  | { kind: 'report'; report: NodeReport };

export interface RaftStoreOptions {
  id: NodeId;
  voters: NodeId[];
  dataDir: string;
  transport: Transport<PeerMessage>;
  logger: Logger;
  heartbeatMs: number;
  electionTimeoutMs: number;
  /** Width of the election timeout's random spread; default electionTimeoutMs (etcd's [T, 2T)). */
  electionJitterMs?: number;
  /** How long a write may wait to commit before the caller hears CLUSTER_ERR_TIMEOUT. */
  proposeTimeoutMs?: number;
  /** Applied entries between two snapshots (log compaction). */
  snapshotEvery?: number;
  /** Injected for tests; defaults to performance.now and Math.random. */
  clock?: () => number;
  random?: () => number;
  /** Called with every role/leader/term change and on every tick with the current lease. */
  onRole?: (soft: SoftState) => void;
  onLease?: (lease: LeaseState, soft: SoftState) => void | Promise<void>;
  /**
   * A follower passed a transfer-leadership request to this leader. Default: start it at once; the
   * node hooks it to drain the VIP first, as for a transfer asked of the leader itself.
   */
  onTransferRequest?: (to: NodeId) => void;
  /** A peer's NodeReport arrived (checked by the receiver: it is whatever the peer sent). */
  onReport?: (from: NodeId, report: unknown) => void;
}

interface Waiter {
  term: number;
  resolve: (r: ApplyResult) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class RaftStateStore implements StateStore {
  private node!: RawNode;
  private storage!: MemoryStorage;
  private log!: DurableLog;
  private readonly machine = new StateMachine();
  private readonly changeListeners: ((s: DataPlaneState) => void)[] = [];
  private readonly waiters = new Map<number, Waiter>();
  private readonly forwarded = new Map<
    number,
    { leader: NodeId; resolve: (r: ApplyResult) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }
  >();
  private readonly reads = new Map<string, { index: number | null; resolve: () => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private readonly lastContact = new Map<NodeId, number>();
  private readonly versionWaiters = new Set<() => void>();
  private conf: ConfState;
  private applied = 0;
  private sinceSnapshot = 0;
  private nextReq = 1;
  private ticker: NodeJS.Timeout | null = null;
  private draining: Promise<void> = Promise.resolve();
  private pumping = false;
  private stopped = false;
  private soft: SoftState = { role: 'follower', leader: null, term: 0 };
  private readonly clock: () => number;
  private readonly tickMs: number;

  constructor(private readonly opts: RaftStoreOptions) {
    this.clock = opts.clock ?? (() => performance.now());
    this.tickMs = Math.max(10, Math.min(50, Math.floor(opts.heartbeatMs / 2)));
    this.conf = { voters: [...opts.voters], learners: [] };
  }

  async start(): Promise<void> {
    const { log, recovered } = await openDurableLog(join(this.opts.dataDir, 'raft'), { logger: this.opts.logger });
    this.log = log;
    const fresh = recovered.snapshot === null && recovered.entries.length === 0 && recovered.hardState.term === 0;
    if (fresh) {
      // A founding member: every peer in the config starts from the same membership snapshot.
      this.storage = MemoryStorage.bootstrap(this.conf);
      await log.saveSnapshot(this.storage.snapshot());
      await log.save(this.storage.initialState().hardState, []);
    } else {
      this.storage = MemoryStorage.restore(recovered);
      if (recovered.truncatedBytes > 0) this.opts.logger.warn({ bytes: recovered.truncatedBytes }, 'WAL had a torn tail; truncated');
    }
    const snap = this.storage.snapshot();
    if (snap.data.length > 0) this.machine.restore(snap.data);
    this.applied = snap.meta.index;
    this.conf = this.storage.initialState().confState;

    const config: RaftConfig = {
      id: this.opts.id,
      tickMs: this.tickMs,
      heartbeatTick: Math.max(1, Math.round(this.opts.heartbeatMs / this.tickMs)),
      electionTick: Math.max(3, Math.round(this.opts.electionTimeoutMs / this.tickMs)),
      electionJitterTick: Math.max(1, Math.round((this.opts.electionJitterMs ?? this.opts.electionTimeoutMs) / this.tickMs)),
      clock: this.clock,
      random: this.opts.random ?? Math.random,
      maxClockDrift: 0.05,
      leaseMarginMs: this.tickMs,
      maxInflight: 64,
      maxEntriesPerMsg: 256,
      maxUncommittedEntries: 4096,
      readOnly: 'safe',
      preVote: true,
      checkQuorum: true,
    };
    this.node = new RawNode(config, this.storage);
    this.opts.transport.onMessage((from, msg) => this.onPeerMessage(from, msg));
    await this.opts.transport.start();
    this.ticker = setInterval(() => {
      this.node.tick();
      this.pump();
      void this.opts.onLease?.(this.node.lease(), this.node.softState());
    }, this.tickMs);
    this.pump();
  }

  // ---- StateStore --------------------------------------------------------------------------

  async propose(cmd: StateCommand): Promise<ApplyResult> {
    if (this.stopped) throw new ClusterError('CLUSTER_ERR_STOPPING', 'this node is stopping');
    const soft = this.node.softState();
    if (soft.role === 'leader') return this.proposeHere(cmd);
    if (!soft.leader) throw new ClusterError('CLUSTER_ERR_NO_LEADER', 'no leader: the cluster has no quorum right now; retry when a leader is elected');
    return this.forward(soft.leader, cmd);
  }

  read(): DataPlaneState {
    return this.machine.dataPlane();
  }

  /** Users, API tokens and the audit log as applied here (for the web edge; never sent to workers). */
  readAccess(): AccessReader {
    return this.machine.accessView();
  }

  onChange(listener: (state: DataPlaneState) => void): void {
    this.changeListeners.push(listener);
  }

  /** Wait until this node has applied everything committed when the call was made (ReadIndex). */
  async readBarrier(timeoutMs = 3000): Promise<void> {
    const ctx = `${this.opts.id}:${this.nextReq++}`;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.reads.delete(ctx);
        reject(new ClusterError('CLUSTER_ERR_TIMEOUT', `linearizable read not confirmed within ${timeoutMs}ms (no quorum?)`));
      }, timeoutMs);
      this.reads.set(ctx, { index: null, resolve, reject, timer });
      try {
        this.node.readIndex(ctx);
      } catch (err) {
        clearTimeout(timer);
        this.reads.delete(ctx);
        reject(this.translate(err));
        return;
      }
      this.pump();
    });
  }

  /** Resolves once the local state machine reached `version` (bounded: a lagging node answers anyway). */
  private waitApplied(version: number, timeoutMs = 3000): Promise<void> {
    if (this.machine.currentVersion() >= version) return Promise.resolve();
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.versionWaiters.delete(check);
        resolve();
      };
      const check = () => {
        if (this.machine.currentVersion() >= version) finish();
      };
      const timer = setTimeout(finish, timeoutMs);
      this.versionWaiters.add(check);
    });
  }

  status(): RaftStatus {
    return this.node.status();
  }

  lastContactMs(peer: NodeId): number | null {
    const t = this.lastContact.get(peer);
    return t === undefined ? null : Math.round(this.clock() - t);
  }

  transferLeadership(to: NodeId): void {
    try {
      this.node.transferLeadership(to);
    } catch (err) {
      throw this.translate(err);
    }
    this.pump();
  }

  /** Sends this node's report to every other member (best effort, as every peer message). */
  sendReport(report: NodeReport): void {
    for (const id of [...this.conf.voters, ...this.conf.learners]) {
      if (id === this.opts.id) continue;
      try {
        this.opts.transport.send(id, { kind: 'report', report });
      } catch (err) {
        this.opts.logger.debug({ err, to: id }, 'node report could not be sent');
      }
    }
  }

  /**
   * Leadership transfer from any node: the leader starts it here, a follower passes it to the
   * leader (fire and forget, as the leader's own transfer: GET /cluster shows when it is done).
   */
  requestTransfer(to: NodeId): void {
    const soft = this.node.softState();
    if (soft.role === 'leader') return this.transferLeadership(to);
    if (!soft.leader) throw new ClusterError('CLUSTER_ERR_NO_LEADER', 'no leader: the cluster has no quorum right now; retry when a leader is elected');
    if (soft.leader === to) return;
    this.opts.transport.send(soft.leader, { kind: 'transfer', to });
  }

  async close(): Promise<void> {
    this.stopped = true;
    if (this.ticker) clearInterval(this.ticker);
    await this.draining;
    await this.opts.transport.stop();
    const stopping = new ClusterError('CLUSTER_ERR_STOPPING', 'this node is stopping');
    for (const w of this.waiters.values()) {
      clearTimeout(w.timer);
      w.reject(stopping);
    }
    for (const f of this.forwarded.values()) {
      clearTimeout(f.timer);
      f.reject(stopping);
    }
    for (const r of this.reads.values()) {
      clearTimeout(r.timer);
      r.reject(stopping);
    }
    await this.log.close();
  }

  // ---- proposals -----------------------------------------------------------------------------

  private proposeHere(cmd: StateCommand): Promise<ApplyResult> {
    // Refuse bad commands before they reach the log: a refused write changes nothing anywhere.
    try {
      this.machine.check(cmd);
    } catch (err) {
      if (err instanceof StateError) return Promise.resolve({ ok: false, error: { code: err.code, field: err.field, message: err.message } });
      throw err;
    }
    let at: { index: number; term: number };
    try {
      at = this.node.propose(encoder.encode(JSON.stringify(cmd)));
    } catch (err) {
      return Promise.reject(this.translate(err));
    }
    const timeoutMs = this.opts.proposeTimeoutMs ?? 5000;
    const result = new Promise<ApplyResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(at.index);
        reject(new ClusterError('CLUSTER_ERR_TIMEOUT', `write not committed within ${timeoutMs}ms; it may still apply`));
      }, timeoutMs);
      this.waiters.set(at.index, { term: at.term, resolve, reject, timer });
    });
    this.pump();
    return result;
  }

  private forward(leader: NodeId, cmd: StateCommand): Promise<ApplyResult> {
    const req = this.nextReq++;
    const timeoutMs = this.opts.proposeTimeoutMs ?? 5000;
    return new Promise<ApplyResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.forwarded.delete(req);
        reject(new ClusterError('CLUSTER_ERR_TIMEOUT', `leader ${leader} did not confirm the write within ${timeoutMs}ms; it may still apply`));
      }, timeoutMs);
      this.forwarded.set(req, { leader, resolve, reject, timer });
      this.opts.transport.send(leader, { kind: 'propose', req, cmd });
    });
  }

  /**
   * A write forwarded to a leader that is no longer the leader will never be answered by it: say
   * so as soon as we know, instead of at the propose timeout. The old leader may have committed it
   * before it went, so the caller hears "unknown outcome", not "failed".
   */
  private failForwardsTo(current: NodeId | null): void {
    for (const [req, f] of this.forwarded) {
      if (f.leader === current) continue;
      this.forwarded.delete(req);
      clearTimeout(f.timer);
      f.reject(
        new ClusterError(
          'CLUSTER_ERR_TIMEOUT',
          `leader ${f.leader} was lost before it confirmed the write; it may or may not have applied: read back before retrying`,
        ),
      );
    }
  }

  private translate(err: unknown): Error {
    if (err instanceof RaftError) {
      switch (err.code) {
        case 'RAFT_ERR_NOT_LEADER':
          return new ClusterError('CLUSTER_ERR_NO_LEADER', 'no leader: the cluster has no quorum right now; retry when a leader is elected', { cause: err });
        case 'RAFT_ERR_TRANSFER_IN_PROGRESS':
          return new ClusterError('CLUSTER_ERR_NO_LEADER', 'leadership is being transferred; retry in a moment', { cause: err });
        case 'RAFT_ERR_PROPOSAL_DROPPED':
          return new ClusterError('CLUSTER_ERR_TIMEOUT', 'the leader is overloaded and dropped the write; retry', { cause: err });
        default:
          return err;
      }
    }
    return err instanceof Error ? err : new Error(String(err));
  }

  private onPeerMessage(from: NodeId, msg: PeerMessage): void {
    if (this.stopped) return;
    this.lastContact.set(from, this.clock());
    switch (msg.kind) {
      case 'raft':
        if (msg.m.from !== from) return; // a peer may only speak for itself
        this.node.step(msg.m);
        this.pump();
        return;
      case 'propose':
        this.propose(msg.cmd).then(
          (result) => this.opts.transport.send(from, { kind: 'proposed', req: msg.req, result, error: null }),
          (err: unknown) => {
            const e = err instanceof ClusterError ? err : this.translate(err);
            this.opts.transport.send(from, { kind: 'proposed', req: msg.req, result: null, error: { code: (e as ClusterError).code ?? 'CLUSTER_ERR_TIMEOUT', message: e.message } });
          },
        );
        return;
      case 'transfer':
        if (this.node.softState().role !== 'leader') return;
        if (this.opts.onTransferRequest) {
          this.opts.onTransferRequest(msg.to);
          return;
        }
        try {
          this.transferLeadership(msg.to);
        } catch (err) {
          this.opts.logger.warn({ err, from, to: msg.to }, 'forwarded leadership transfer refused');
        }
        return;
      case 'report':
        this.opts.onReport?.(from, msg.report);
        return;
      case 'proposed': {
        const f = this.forwarded.get(msg.req);
        if (!f) return;
        this.forwarded.delete(msg.req);
        clearTimeout(f.timer);
        // Read-your-writes: answer once this node has applied the change too, so a read that
        // follows the write on this node sees it.
        if (msg.result?.ok) void this.waitApplied(msg.result.version).then(() => f.resolve(msg.result!));
        else if (msg.result) f.resolve(msg.result);
        else f.reject(new ClusterError(msg.error?.code === 'CLUSTER_ERR_NO_LEADER' ? 'CLUSTER_ERR_NO_LEADER' : 'CLUSTER_ERR_TIMEOUT', msg.error?.message ?? 'forwarded write failed'));
        return;
      }
      default: {
        const never: never = msg;
        this.opts.logger.warn({ msg: never }, 'unknown peer message');
      }
    }
  }

  // ---- the Ready loop ------------------------------------------------------------------------

  /** Run the Ready loop until the core has nothing more to do; never two loops at once. */
  private pump(): void {
    if (this.pumping || this.stopped) return;
    this.pumping = true;
    this.draining = this.drain()
      .catch((err: unknown) => {
        // A storage failure means we can no longer promise durability: stop participating.
        this.opts.logger.fatal({ err }, 'raft ready loop failed; this node stops taking part in the cluster');
        this.stopped = true;
        if (this.ticker) clearInterval(this.ticker);
      })
      .finally(() => {
        this.pumping = false;
      });
  }

  private async drain(): Promise<void> {
    while (!this.stopped && this.node.hasReady()) {
      const rd = this.node.ready();
      await this.handle(rd);
      this.node.advance();
      await this.maybeCompact();
    }
  }

  private async handle(rd: Ready): Promise<void> {
    if (rd.softState) {
      this.soft = rd.softState;
      this.opts.logger.info({ role: rd.softState.role, leader: rd.softState.leader, term: rd.softState.term }, 'raft role changed');
      this.opts.onRole?.(rd.softState);
      if (rd.softState.role !== 'leader') this.failWaiters('leadership changed before the write committed; retry');
      this.failForwardsTo(rd.softState.leader);
    }
    // The lease can end inside this Ready (a leadership transfer gives it up before TimeoutNow is
    // sent): let the node release the VIP before any message goes out.
    if (!rd.lease.valid) await this.opts.onLease?.(rd.lease, this.node.softState());
    if (rd.snapshot) await this.log.saveSnapshot(rd.snapshot);
    if (rd.hardState || rd.entries.length > 0) await this.log.save(rd.hardState, rd.entries);
    for (const m of rd.messages) {
      try {
        this.opts.transport.send(m.to, { kind: 'raft', m });
      } catch (err) {
        this.opts.logger.error({ err, to: m.to, type: m.type }, 'raft message could not be sent');
      }
    }
    let changed = false;
    if (rd.snapshot) {
      if (rd.snapshot.data.length > 0) this.machine.restore(rd.snapshot.data);
      else this.machine.restore(new StateMachine().snapshot());
      this.applied = rd.snapshot.meta.index;
      changed = true;
    }
    for (const e of rd.committedEntries) {
      changed = this.applyEntry(e) || changed;
      this.applied = e.index;
      this.sinceSnapshot++;
    }
    if (rd.confState) this.conf = rd.confState;
    for (const rs of rd.readStates) {
      const r = this.reads.get(rs.ctx);
      if (r) r.index = rs.index;
    }
    for (const [ctx, r] of this.reads) {
      if (r.index !== null && this.applied >= r.index) {
        clearTimeout(r.timer);
        this.reads.delete(ctx);
        r.resolve();
      }
    }
    for (const check of [...this.versionWaiters]) check();
    if (changed) {
      const state = this.machine.dataPlane();
      for (const l of this.changeListeners) l(state);
    }
  }

  private applyEntry(e: Entry): boolean {
    const waiter = this.waiters.get(e.index);
    if (waiter) this.waiters.delete(e.index);
    if (waiter && waiter.term !== e.term) {
      clearTimeout(waiter.timer);
      waiter.reject(new ClusterError('CLUSTER_ERR_NO_LEADER', 'leadership changed before the write committed; retry'));
    }
    if (e.type !== 'normal' || e.data.length === 0) return false;
    let result: ApplyResult;
    try {
      result = this.machine.apply(JSON.parse(decoder.decode(e.data)) as StateCommand);
    } catch (err) {
      // Every node fails the same way on the same bytes, so the replicas stay identical.
      this.opts.logger.error({ err, index: e.index }, 'committed entry could not be applied; skipped');
      result = { ok: false, error: { code: 'STATE_ERR_INVALID', field: '', message: `entry ${e.index} is unreadable by this release` } };
    }
    if (waiter && waiter.term === e.term) {
      clearTimeout(waiter.timer);
      waiter.resolve(result);
    }
    return result.ok;
  }

  private failWaiters(message: string): void {
    for (const [index, w] of this.waiters) {
      clearTimeout(w.timer);
      w.reject(new ClusterError('CLUSTER_ERR_NO_LEADER', message));
      this.waiters.delete(index);
    }
  }

  private async maybeCompact(): Promise<void> {
    const every = this.opts.snapshotEvery ?? 1000;
    if (this.sinceSnapshot < every) return;
    this.sinceSnapshot = 0;
    const snap = this.storage.createSnapshot(this.applied, this.conf, this.machine.snapshot());
    await this.log.saveSnapshot(snap);
    // Keep a tail so a follower slightly behind catches up from the log, not a snapshot.
    const keepFrom = this.applied - Math.floor(every / 2);
    if (keepFrom > this.storage.firstIndex()) this.storage.compact(keepFrom);
  }
}
