// What the rest of the node (web, health, workers) sees of the replicated state.
import type { DataPlaneState } from '../../lb/types.js';
import type { ApplyResult, StateCommand } from '../state/types.js';

export interface StateStore {
  /** Commit a command and apply it; resolves with the state machine's verdict once applied here. */
  propose(cmd: StateCommand): Promise<ApplyResult>;
  /** The state as applied on this node. */
  read(): DataPlaneState;
  /** Called after every applied change, in order. */
  onChange(listener: (state: DataPlaneState) => void): void;
  close(): Promise<void>;
}

export type RaftRole = 'leader' | 'follower' | 'candidate' | 'pre-candidate' | 'learner' | 'unknown';

/** What GET /api/v1/cluster reports; a one-node store reports itself as leader. */
export interface ClusterView {
  nodeId: string;
  leader: string | null;
  term: number;
  commitIndex: number;
  /** On the leader: ms it has led, by its own monotonic clock (a duration, so no clock skew); null elsewhere. */
  leadingForMs: number | null;
  /** heldForMs: on the holder, ms since it last raised the VIP (its own clock); null elsewhere. */
  vip: { address: string | null; holder: string | null; heldForMs: number | null };
  /** roleFrom: 'raft' when this node's Raft knows the role, 'report' when it is the node's own fresh report; null when unknown. */
  nodes: { id: string; address: string; role: RaftRole; roleFrom: 'raft' | 'report' | null; lastContactMs: number | null; matchIndex: number | null }[];
}

/** A node's host: CPU, memory, load and network interfaces (node-stats-route.ts reads them). */
export interface HostStats {
  cpu: { percent: number; cores: number };
  memory: { total: number; used: number };
  load: number[];
  uptimeSec: number;
  interfaces: { name: string; ip4: string; up: boolean; rxBytesPerSec: number | null; txBytesPerSec: number | null }[];
}

/** One backend's cumulative request counters on one node (all its workers), for cluster-wide rates. */
export interface BackendTraffic {
  pool: string;
  backend: string;
  requests: number;
  /** Of those, answered with a 5xx status (the proxy's own 502/504 for a failed backend included), as the panel counts errors. */
  errors: number;
}

/**
 * What each node tells its peers about itself every few seconds over the Raft peer link, so any
 * node's panel shows every node: its own Raft view (a follower knows only the leader's role) and
 * its host. Peers are authenticated by the transport; the fields are still checked on receipt.
 */
export interface NodeReport {
  node: string;
  /** The sender's wall clock (epoch ms); ages are measured by the receiver's clock, not from this. */
  at: number;
  raft: {
    role: RaftRole;
    term: number;
    leader: string | null;
    commitIndex: number;
    lastIndex: number;
    /** ms since this node last heard from the leader (0 on the leader; null: never). */
    leaderContactMs: number | null;
  };
  /** Null when the host could not be read. */
  stats: HostStats | null;
  /** Null when the node runs no workers. */
  traffic: BackendTraffic[] | null;
}

/** self: the answering node; fresh/stale: heard within / after staleAfterMs; unreachable: nothing for unreachableAfterMs, or never. */
export type NodeReportStatus = 'self' | 'fresh' | 'stale' | 'unreachable';

/** A node as the answering node knows it from the reports it received. */
export interface NodeReportEntry {
  id: string;
  status: NodeReportStatus;
  /** ms since the answering node received this report; null when none ever came. */
  ageMs: number | null;
  /** The last report received (kept when stale or unreachable, so the last known figures still show). */
  report: NodeReport | null;
}

/** What the admin app reads the cluster's node reports from. */
export interface NodeReportSource {
  readonly everyMs: number;
  readonly staleAfterMs: number;
  readonly unreachableAfterMs: number;
  /** Every member (this node first), with this node's report made fresh. */
  view(): Promise<NodeReportEntry[]>;
}
