// Raft's basic records, shared by the pure core (cluster/raft) and durable storage (cluster/storage).

export type NodeId = string;

export type EntryType = 'normal' | 'conf-change';

export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  /** Opaque command bytes; empty for the leader's no-op. */
  data: Uint8Array;
}

export interface HardState {
  term: number;
  vote: NodeId | null;
  commit: number;
}

export interface ConfState {
  voters: NodeId[];
  learners: NodeId[];
}

export interface SnapshotMeta {
  index: number;
  term: number;
  conf: ConfState;
}

export interface Snapshot {
  meta: SnapshotMeta;
  /** The state machine's serialized state at meta.index. */
  data: Uint8Array;
}

// ---- Additions for the consensus core (cluster/raft); the declarations above are the shared contract. ----

/** One membership step; promote a learner with `add-voter` on an existing learner. */
export type ConfChangeType = 'add-voter' | 'add-learner' | 'remove';

export interface ConfChange {
  type: ConfChangeType;
  node: NodeId;
}

/** The role a node plays; each role is a different step function inside the core. */
export type RaftRole = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

/** How the leader replicates to one peer (etcd's tracker.StateType). */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/** `safe`: every read is confirmed by a quorum heartbeat round; `lease`: served on the leader lease alone. */
export type ReadOnlyOption = 'safe' | 'lease';

interface MessageBase {
  from: NodeId;
  to: NodeId;
  term: number;
}

/** Append entries after (index, logTerm); also the probe a leader uses to find a follower's log end. */
export interface AppendMessage extends MessageBase {
  type: 'app';
  index: number;
  logTerm: number;
  entries: Entry[];
  commit: number;
}

/**
 * Answer to `app` (and to `snap`). On success `index` is the follower's last matching index. On reject
 * `index` echoes the rejected prev index and (`rejectHint`, `logTerm`) point at the follower's best guess
 * of the last index whose term is <= the leader's prev term, so the leader can skip a whole term at once.
 */
export interface AppendResponseMessage extends MessageBase {
  type: 'app-resp';
  index: number;
  reject: boolean;
  rejectHint: number;
  logTerm: number;
}

export interface VoteMessage extends MessageBase {
  type: 'vote' | 'pre-vote';
  /** Last log index and term of the candidate. */
  index: number;
  logTerm: number;
  /** True when the candidate campaigns on the leader's `timeout-now` (leadership transfer). */
  transfer: boolean;
}

export interface VoteResponseMessage extends MessageBase {
  type: 'vote-resp' | 'pre-vote-resp';
  reject: boolean;
}

/** `round` numbers the leader's heartbeat rounds within its term; acks of a round confirm reads and the lease. */
export interface HeartbeatMessage extends MessageBase {
  type: 'heartbeat';
  commit: number;
  round: number;
}

export interface HeartbeatResponseMessage extends MessageBase {
  type: 'heartbeat-resp';
  round: number;
}

export interface SnapshotMessage extends MessageBase {
  type: 'snap';
  snapshot: Snapshot;
}

/** Leader to transfer target: campaign now, ignoring the election timeout. */
export interface TimeoutNowMessage extends MessageBase {
  type: 'timeout-now';
}

/** Follower forwarding a ReadIndex request to its leader. */
export interface ReadIndexMessage extends MessageBase {
  type: 'read-index';
  ctx: string;
}

export interface ReadIndexResponseMessage extends MessageBase {
  type: 'read-index-resp';
  ctx: string;
  index: number;
  reject: boolean;
}

/** Every message between peers. Plain data; only Entry.data and Snapshot.data are Uint8Array. */
export type Message =
  | AppendMessage
  | AppendResponseMessage
  | VoteMessage
  | VoteResponseMessage
  | HeartbeatMessage
  | HeartbeatResponseMessage
  | SnapshotMessage
  | TimeoutNowMessage
  | ReadIndexMessage
  | ReadIndexResponseMessage;

export type MessageType = Message['type'];

/** A confirmed read: once the state machine has applied `index`, a read for `ctx` is linearizable. */
export interface ReadState {
  index: number;
  ctx: string;
}

/** Volatile state worth telling the driver about when it changes. */
export interface SoftState {
  role: RaftRole;
  leader: NodeId | null;
  term: number;
}

/**
 * The leader lease, in the node's own clock (the `clock()` passed in the config, milliseconds).
 * `valid` is true only while the node is leader and `clock() < validUntil`. A node may hold the VIP
 * only while `valid`. `validUntil` is 0 when there is no lease.
 */
export interface LeaseState {
  valid: boolean;
  validUntil: number;
}

/** What the driver must do, in this order: persist (snapshot, entries, hardState), send, apply, advance(). */
export interface Ready {
  /** Set when the role, leader or term changed since the last Ready. */
  softState: SoftState | null;
  /** Hard state to persist, when it changed. */
  hardState: HardState | null;
  /** Snapshot to persist and install into the state machine (before committedEntries). */
  snapshot: Snapshot | null;
  /** Entries to append to stable storage; an entry replaces any stored entry at its index and all after it. */
  entries: Entry[];
  /** Messages to send once the above is durable. */
  messages: Message[];
  /** Entries to apply to the state machine, in order. */
  committedEntries: Entry[];
  readStates: ReadState[];
  /** The membership after this Ready's conf changes are applied; null if unchanged. */
  confState: ConfState | null;
  lease: LeaseState;
}

export interface RaftConfig {
  id: NodeId;
  /**
   * Ticks without leader contact before a follower campaigns; randomized to
   * [electionTick, electionTick + electionJitterTick).
   */
  electionTick: number;
  /**
   * Width of the election timeout's random spread, in ticks; default electionTick (etcd's
   * [T, 2T)). A narrower spread detects a dead leader sooner at the cost of more split votes;
   * pre-vote keeps those cheap. Leases and vote promises use electionTick alone, so safety does
   * not depend on it.
   */
  electionJitterTick?: number;
  /** Ticks between leader heartbeat rounds; must be < electionTick. */
  heartbeatTick: number;
  /** Nominal milliseconds between two tick() calls, in the node's own clock; maps ticks to lease time. */
  tickMs: number;
  /**
   * The node's monotonic clock in milliseconds. Leases and vote promises are measured on it, so a
   * leader whose process stalls sees its lease expire at once instead of after its next ticks.
   */
  clock: () => number;
  /** Uniform random number in [0, 1); randomizes the election timeout. */
  random: () => number;
  /**
   * Bound on how much faster one node's clock may run than another's, as a fraction (two clocks each
   * within ±δ of true time need 2δ/(1+δ)). The lease is shortened by this fraction.
   */
  maxClockDrift: number;
  /** Safety margin subtracted from the lease, in ms; at least one tickMs is advised. */
  leaseMarginMs: number;
  /** Maximum MsgApp messages in flight to one follower in replicate state. */
  maxInflight: number;
  /** Maximum entries in one MsgApp. */
  maxEntriesPerMsg: number;
  /** Pending (not yet committed) proposals the leader accepts before refusing with RAFT_ERR_PROPOSAL_DROPPED. */
  maxUncommittedEntries: number;
  readOnly: ReadOnlyOption;
  /** Pre-vote (Raft thesis §9.6): a node only bumps its term after a quorum says it could win. */
  preVote: boolean;
  /** A leader steps down when it has not heard from a quorum within an election timeout. */
  checkQuorum: boolean;
}

export interface PeerStatus {
  match: number;
  next: number;
  state: ProgressState;
  recentActive: boolean;
  isLearner: boolean;
}

/** A read-only view for the API and metrics (GET /cluster). `progress` is filled only on the leader. */
export interface RaftStatus {
  id: NodeId;
  term: number;
  vote: NodeId | null;
  commit: number;
  applied: number;
  lastIndex: number;
  role: RaftRole;
  leader: NodeId | null;
  conf: ConfState;
  lease: LeaseState;
  leadTransferee: NodeId | null;
  progress: Record<NodeId, PeerStatus>;
}
