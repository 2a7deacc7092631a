// Messages between `npm run bench:raft` (raft.ts) and its cluster members (raft-member.ts).
import type { NodeId, RaftRole } from '../../cluster/raft/types.js';

/** What a member process is started with (JSON in BENCH_RAFT_MEMBER). */
export interface MemberConfig {
  id: NodeId;
  port: number;
  peers: { id: NodeId; port: number }[];
  dataDir: string;
  secret: string;
  heartbeatMs: number;
  electionTimeoutMs: number;
  snapshotEvery: number;
}

export type ToMember =
  | { type: 'bootstrap'; req: number }
  /** Proposes small commands from `concurrency` loops on this member (forwarded when it follows). */
  | { type: 'load'; req: number; concurrency: number; seconds: number; maxOps: number }
  /** Proposes until one write commits; answers the wall time it did. */
  | { type: 'first-commit'; req: number; timeoutMs: number }
  | { type: 'status'; req: number }
  | { type: 'stop'; req: number };

export interface LoadReport {
  commits: number;
  wallMs: number;
  /** Propose -> committed and applied on the proposing member, per write. */
  latenciesMs: number[];
  /** Failed proposals by error code. */
  errors: Record<string, number>;
}

/** `at`: wall-clock ms (performance.timeOrigin + performance.now()), comparable across processes. */
export type FromMember =
  | { type: 'started'; id: NodeId; at: number }
  | { type: 'role'; id: NodeId; role: RaftRole; leader: NodeId | null; term: number; at: number }
  | { type: 'done'; req: number; ok: boolean; error: string | null }
  | { type: 'load'; req: number; report: LoadReport }
  | { type: 'first-commit'; req: number; at: number | null }
  | { type: 'status'; req: number; role: RaftRole; leader: NodeId | null; term: number; applied: number };
