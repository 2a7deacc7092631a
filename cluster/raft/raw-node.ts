// The driver-facing node (etcd's RawNode): feeds ticks, messages and requests to the core and hands
// back one Ready at a time; advance() records the Ready into MemoryStorage and applies conf changes.
//
// Driver loop (the node daemon):
//   every config.tickMs: node.tick(); then, and after every step()/propose()/readIndex():
//   while (node.hasReady()) {
//     const rd = node.ready();
//     1. persist, with one fsync: if rd.snapshot, write it and DROP every log entry on disk (a
//        snapshot from the leader replaces the whole log); then rd.entries (an entry whose index is
//        on disk replaces it and all after it); then rd.hardState if not null.
//     2. send rd.messages (plain objects; Entry.data and Snapshot.data are Uint8Array).
//     3. apply: rd.snapshot (restore the state machine from snapshot.data), then rd.committedEntries
//        in order ('conf-change' entries carry a ConfChange; rd.confState is the membership after
//        them); serve rd.readStates once the state machine has applied their index.
//     4. node.advance().
//   }
//   VIP: hold it only while node.lease().valid; poll it every tick (validity lapses between ticks)
//   or arm a timer for lease().validUntil on the same clock as config.clock.
// step() may be called between ready() and advance(); its output comes in the next Ready.
import { applyConfChange, decodeConfChange } from './conf-change.js';
import { RaftError } from './errors.js';
import type { MemoryStorage } from './memory-storage.js';
import { Raft } from './raft.js';
import type {
  ConfChange,
  ConfState,
  HardState,
  LeaseState,
  Message,
  NodeId,
  PeerStatus,
  RaftConfig,
  RaftStatus,
  Ready,
  Snapshot,
  SoftState,
} from './types.js';

function sameSoft(a: SoftState, b: SoftState): boolean {
  return a.role === b.role && a.leader === b.leader && a.term === b.term;
}

function sameHard(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

export class RawNode {
  private readonly raft: Raft;
  private readonly storage: MemoryStorage;
  private prevSoft: SoftState;
  private prevHard: HardState;
  private pending: Ready | null = null;

  /**
   * `storage` holds what was recovered from disk (or MemoryStorage.bootstrap(conf) for a founding
   * member of a new cluster, or an empty MemoryStorage for a member being added). Committed entries
   * after the storage's snapshot are handed out again for applying, so the state machine must be
   * rebuilt from that snapshot at start.
   */
  constructor(config: RaftConfig, storage: MemoryStorage) {
    this.raft = new Raft(config, storage);
    this.storage = storage;
    this.prevSoft = this.raft.softState();
    this.prevHard = storage.initialState().hardState;
  }

  get id(): NodeId {
    return this.raft.id;
  }

  /** Call every config.tickMs of this node's clock. */
  tick(): void {
    this.raft.tick();
  }

  /** A message from a peer. Messages for another node are ignored. */
  step(m: Message): void {
    this.raft.step(m);
  }

  /** Append a command; throws RAFT_ERR_NOT_LEADER (with .leader), _TRANSFER_IN_PROGRESS or _PROPOSAL_DROPPED. */
  propose(data: Uint8Array): { index: number; term: number } {
    return this.raft.propose(data);
  }

  /** One membership step; throws RAFT_ERR_CONF_CHANGE_PENDING until the previous one is applied
   * and the leader has committed an entry of its own term, or RAFT_ERR_INVALID_CONF_CHANGE. */
  proposeConfChange(cc: ConfChange): { index: number; term: number } {
    return this.raft.proposeConfChange(cc);
  }

  /** Hand leadership to a voter; the leader stops taking proposals until it is done (or aborted). */
  transferLeadership(to: NodeId): void {
    this.raft.transferLeadership(to);
  }

  /**
   * Ask for a linearizable read. Some later Ready carries ReadState { index, ctx }: serve the read
   * once the state machine has applied `index`. On a follower the request goes to the leader; if it
   * is lost no ReadState comes, so callers need a timeout. Throws RAFT_ERR_NOT_LEADER if no leader is known.
   */
  readIndex(ctx: string): void {
    this.raft.readIndex(ctx);
  }

  /** Role, leader and term right now (cheap; status() is the full view). */
  softState(): SoftState {
    return this.raft.softState();
  }

  /** The VIP lease right now (see raft.ts): hold the VIP only while `valid`. */
  lease(): LeaseState {
    return this.raft.lease();
  }

  status(): RaftStatus {
    const r = this.raft;
    const progress: Record<NodeId, PeerStatus> = {};
    if (r.role === 'leader') {
      for (const [id, pr] of r.progress) {
        progress[id] = { match: pr.match, next: pr.next, state: pr.state, recentActive: pr.recentActive, isLearner: pr.isLearner };
      }
    }
    return {
      id: r.id,
      term: r.term,
      vote: r.vote,
      commit: r.log.committed,
      applied: r.log.applied,
      lastIndex: r.log.lastIndex(),
      role: r.role,
      leader: r.lead,
      conf: { voters: [...r.conf.voters], learners: [...r.conf.learners] },
      lease: r.lease(),
      leadTransferee: r.leadTransferee,
      progress,
    };
  }

  hasReady(): boolean {
    if (this.pending !== null) return false;
    const r = this.raft;
    return (
      !sameSoft(r.softState(), this.prevSoft) ||
      !sameHard(r.hardState(), this.prevHard) ||
      r.log.unstableSnapshot() !== null ||
      r.log.unstableEntries().length > 0 ||
      r.msgs.length > 0 ||
      r.readStates.length > 0 ||
      r.log.committed > r.log.applied
    );
  }

  /** The work to do now; call advance() once it is done. Throws RAFT_ERR_READY_PENDING if the last one is not advanced. */
  ready(): Ready {
    if (this.pending !== null) throw new RaftError('RAFT_ERR_READY_PENDING', 'advance() the previous Ready first');
    const r = this.raft;
    const soft = r.softState();
    const hard = r.hardState();
    const snapshot = r.log.unstableSnapshot();
    const committedEntries = r.log.nextCommittedEntries();
    let conf: ConfState | null = snapshot === null ? null : snapshot.meta.conf;
    for (const e of committedEntries) {
      if (e.type === 'conf-change') conf = applyConfChange(conf ?? r.conf, decodeConfChange(e.data));
    }
    const rd: Ready = {
      softState: sameSoft(soft, this.prevSoft) ? null : soft,
      hardState: sameHard(hard, this.prevHard) ? null : hard,
      snapshot,
      entries: r.log.unstableEntries(),
      messages: r.msgs,
      committedEntries,
      readStates: r.readStates,
      confState: conf,
      lease: r.lease(),
    };
    r.msgs = [];
    r.readStates = [];
    this.prevSoft = soft;
    this.pending = rd;
    return rd;
  }

  /**
   * The driver persisted, sent and applied the last Ready. Records its snapshot, entries and hard
   * state into MemoryStorage and applies its conf changes to the core's membership.
   */
  advance(): void {
    const rd = this.pending;
    if (rd === null) throw new RaftError('RAFT_ERR_NO_READY', 'advance() without a Ready');
    this.pending = null;
    const log = this.raft.log;
    if (rd.snapshot !== null) {
      if (rd.snapshot.meta.index > this.storage.snapshot().meta.index) this.storage.applySnapshot(rd.snapshot);
      log.stableSnapTo(rd.snapshot.meta.index);
      log.appliedTo(rd.snapshot.meta.index);
    }
    const last = rd.entries[rd.entries.length - 1];
    if (last !== undefined) {
      this.storage.append(rd.entries);
      log.stableTo(last.index, last.term);
    }
    if (rd.hardState !== null) {
      this.storage.setHardState(rd.hardState);
      this.prevHard = rd.hardState;
    }
    for (const e of rd.committedEntries) {
      if (e.type === 'conf-change') this.raft.applyConfChange(e.index, decodeConfChange(e.data));
      log.appliedTo(e.index);
    }
  }

  /**
   * Log compaction: record the state machine's serialized state at `index` (<= applied) as the
   * snapshot and drop the log before it, keeping `retain` entries behind it for slow followers.
   * Persist the returned snapshot (DurableLog.saveSnapshot).
   */
  compact(index: number, data: Uint8Array, retain = 0): Snapshot {
    const r = this.raft;
    if (index > r.log.applied) throw new RaftError('RAFT_ERR_UNAVAILABLE', `cannot snapshot ${index}: applied is ${r.log.applied}`);
    const snap = this.storage.createSnapshot(index, r.confAt(index), data);
    const cut = index - retain;
    if (cut > this.storage.firstIndex() - 1) this.storage.compact(cut);
    r.pruneConfHistory(this.storage.firstIndex() - 1);
    return snap;
  }
}
