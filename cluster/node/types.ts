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

/** What GET /api/v1/cluster reports; a one-node store reports itself as leader. */
export interface ClusterView {
  nodeId: string;
  leader: string | null;
  term: number;
  commitIndex: number;
  vip: { address: string | null; holder: string | null };
  nodes: { id: string; address: string; role: 'leader' | 'follower' | 'candidate' | 'pre-candidate' | 'learner' | 'unknown'; lastContactMs: number | null; matchIndex: number | null }[];
}
