// The durable log contract: what the node daemon persists from each Ready and recovers at start.
// The Raft core never touches disk: at start the recovered state is loaded into a MemoryStorage
// (cluster/raft) that the core reads, as etcd's wal + MemoryStorage do.
import type { Entry, HardState, Snapshot } from '../raft/types.js';
import type { Logger } from 'pino';

export interface RecoveredLog {
  hardState: HardState;
  /** The newest snapshot, if any; entries start right after it. */
  snapshot: Snapshot | null;
  /** Contiguous entries after the snapshot (or from index 1). */
  entries: Entry[];
  /** Bytes dropped from a torn or corrupt tail during recovery (0 if clean). */
  truncatedBytes: number;
}

export interface DurableLog {
  /**
   * Persist one Ready's worth with a single fsync. An entry whose index is already in the log
   * replaces it and everything after it (a follower truncating a conflicting tail).
   */
  save(hardState: HardState | null, entries: readonly Entry[]): Promise<void>;
  /** Write a snapshot atomically; log segments wholly covered by it may then be released. */
  saveSnapshot(snapshot: Snapshot): Promise<void>;
  close(): Promise<void>;
}

// ---- Additions (cluster/storage): options of the disk implementation, openDurableLog(dir, options). ----

export interface FileLogOptions {
  logger: Logger;
  /** Rotate to a new segment once the active one has reached this many bytes (default 16 MiB). */
  segmentBytes?: number;
}

/** What the disk log holds right now; for status pages and tests. */
export interface FileLogStatus {
  segments: string[];
  snapshotIndex: number;
  lastIndex: number;
  activeSegmentBytes: number;
}
