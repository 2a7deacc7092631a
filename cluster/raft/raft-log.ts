// The core's view of the log: stable entries in MemoryStorage plus the unstable tail (and snapshot)
// not yet handed to the driver for persistence, with the commit and apply cursors (etcd's raftLog).
import { RaftError } from './errors.js';
import type { MemoryStorage } from './memory-storage.js';
import type { Entry, Snapshot } from './types.js';

/** Entries and a snapshot received but not yet persisted by the driver. */
class UnstableTail {
  snapshot: Snapshot | null = null;
  entries: Entry[] = [];
  /** Index of entries[0]. */
  offset: number;

  constructor(offset: number) {
    this.offset = offset;
  }

  firstIndex(): number | null {
    return this.snapshot === null ? null : this.snapshot.meta.index + 1;
  }

  lastIndex(): number | null {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot === null ? null : this.snapshot.meta.index;
  }

  term(i: number): number | null {
    if (i < this.offset) {
      return this.snapshot !== null && this.snapshot.meta.index === i ? this.snapshot.meta.term : null;
    }
    const e = this.entries[i - this.offset];
    return e === undefined ? null : e.term;
  }

  stableTo(index: number, term: number): void {
    if (index < this.offset || this.term(index) !== term) return;
    this.entries = this.entries.slice(index + 1 - this.offset);
    this.offset = index + 1;
  }

  stableSnapTo(index: number): void {
    if (this.snapshot !== null && this.snapshot.meta.index === index) this.snapshot = null;
  }

  restore(snap: Snapshot): void {
    this.offset = snap.meta.index + 1;
    this.entries = [];
    this.snapshot = snap;
  }

  truncateAndAppend(ents: readonly Entry[]): void {
    const after = (ents[0] as Entry).index;
    if (after === this.offset + this.entries.length) {
      this.entries = [...this.entries, ...ents];
    } else if (after <= this.offset) {
      // The new entries replace the whole unstable tail; storage truncates when they are persisted.
      this.offset = after;
      this.entries = [...ents];
    } else {
      this.entries = [...this.entries.slice(0, after - this.offset), ...ents];
    }
  }
}

export class RaftLog {
  readonly storage: MemoryStorage;
  private readonly unstable: UnstableTail;
  committed: number;
  applied: number;

  constructor(storage: MemoryStorage) {
    this.storage = storage;
    this.unstable = new UnstableTail(storage.lastIndex() + 1);
    this.committed = storage.firstIndex() - 1;
    this.applied = storage.firstIndex() - 1;
  }

  firstIndex(): number {
    return this.unstable.firstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.lastIndex() ?? this.storage.lastIndex();
  }

  /** Term of entry i, or null when i is compacted away or beyond the end. */
  term(i: number): number | null {
    if (i < this.firstIndex() - 1 || i > this.lastIndex()) return null;
    const t = this.unstable.term(i);
    if (t !== null) return t;
    try {
      return this.storage.term(i);
    } catch (e) {
      if (e instanceof RaftError) return null;
      throw e;
    }
  }

  lastTerm(): number {
    return this.term(this.lastIndex()) ?? 0;
  }

  matchTerm(i: number, term: number): boolean {
    return this.term(i) === term;
  }

  /** The candidate's log is at least as up to date as ours (Raft §5.4.1). */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  /**
   * Follower side of AppendEntries: accept only if our entry at `index` has `logTerm`; then drop the
   * first conflicting entry and everything after it, append the rest, and advance commit no further
   * than the last entry this message vouches for. Returns the last new index, or null on mismatch.
   */
  maybeAppend(index: number, logTerm: number, committed: number, ents: readonly Entry[]): number | null {
    if (!this.matchTerm(index, logTerm)) return null;
    const lastNew = index + ents.length;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      if (ci <= this.committed) {
        throw new Error(`raft invariant: conflict at ${ci} within committed prefix ${this.committed}`);
      }
      this.append(ents.slice(ci - (index + 1)));
    }
    this.commitTo(Math.min(committed, lastNew));
    return lastNew;
  }

  append(ents: readonly Entry[]): number {
    const first = ents[0];
    if (first === undefined) return this.lastIndex();
    if (first.index - 1 < this.committed) {
      throw new Error(`raft invariant: append at ${first.index} would overwrite committed ${this.committed}`);
    }
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /** First index whose term differs from ours (or that we lack), or 0 if all match. */
  private findConflict(ents: readonly Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The largest index <= `index` whose term is <= `term` (or the first index we cannot look up).
   * Both sides use this to skip over a whole conflicting term in one round trip.
   */
  findConflictByTerm(index: number, term: number): number {
    let i = Math.min(index, this.lastIndex());
    for (; i > 0; i--) {
      const t = this.term(i);
      if (t === null || t <= term) return i;
    }
    return 0;
  }

  commitTo(index: number): void {
    if (index <= this.committed) return;
    if (index > this.lastIndex()) {
      throw new Error(`raft invariant: commit ${index} beyond last ${this.lastIndex()}`);
    }
    this.committed = index;
  }

  /** Leader rule: commit by quorum match only an entry of the leader's own term (Raft §5.4.2, Figure 8). */
  maybeCommit(index: number, term: number): boolean {
    if (index > this.committed && this.term(index) === term) {
      this.commitTo(index);
      return true;
    }
    return false;
  }

  appliedTo(index: number): void {
    if (index > this.applied) this.applied = index;
  }

  unstableEntries(): Entry[] {
    return [...this.unstable.entries];
  }

  unstableSnapshot(): Snapshot | null {
    return this.unstable.snapshot;
  }

  stableTo(index: number, term: number): void {
    this.unstable.stableTo(index, term);
  }

  stableSnapTo(index: number): void {
    this.unstable.stableSnapTo(index);
  }

  /** Committed entries not yet applied (entries folded into a snapshot are skipped). */
  nextCommittedEntries(): Entry[] {
    const lo = Math.max(this.applied + 1, this.firstIndex());
    if (this.committed + 1 <= lo) return [];
    return this.slice(lo, this.committed + 1);
  }

  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  /** Entries in [lo, hi); throws RAFT_ERR_COMPACTED when lo is before the first kept entry. */
  slice(lo: number, hi: number): Entry[] {
    if (lo >= hi) return [];
    if (lo < this.firstIndex()) throw new RaftError('RAFT_ERR_COMPACTED', `entry ${lo} compacted`);
    if (hi > this.lastIndex() + 1) throw new RaftError('RAFT_ERR_UNAVAILABLE', `entry ${hi - 1} beyond last`);
    const off = this.unstable.offset;
    const out: Entry[] = [];
    if (lo < off) out.push(...this.storage.entries(lo, Math.min(hi, off)));
    if (hi > off) out.push(...this.unstable.entries.slice(Math.max(lo, off) - off, hi - off));
    return out;
  }

  /** Install a snapshot: the log now starts right after it and everything up to it is committed. */
  restore(snap: Snapshot): void {
    this.committed = snap.meta.index;
    this.unstable.restore(snap);
  }
}
