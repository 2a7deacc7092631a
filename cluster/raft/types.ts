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
