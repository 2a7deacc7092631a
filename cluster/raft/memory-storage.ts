// The in-memory log the core reads (etcd's MemoryStorage): the driver fills it from disk at start and
// appends each Ready's entries to it after persisting them.
import { RaftError } from './errors.js';
import type { ConfState, Entry, HardState, Snapshot } from './types.js';

function copyConf(c: ConfState): ConfState {
  return { voters: [...c.voters], learners: [...c.learners] };
}

export class MemoryStorage {
  private hard: HardState = { term: 0, vote: null, commit: 0 };
  private snap: Snapshot = { meta: { index: 0, term: 0, conf: { voters: [], learners: [] } }, data: new Uint8Array() };
  /** ents[0] is a placeholder standing for the snapshot point: its index and term, never its data. */
  private ents: Entry[] = [{ index: 0, term: 0, type: 'normal', data: new Uint8Array() }];

  /**
   * Storage for a founding member of a new cluster. The initial membership is a snapshot at index 1,
   * term 1 (empty state machine data), so a member added later, whose log is empty, cannot match
   * index 1 and is brought up to date by a snapshot that carries the membership.
   */
  static bootstrap(conf: ConfState): MemoryStorage {
    const s = new MemoryStorage();
    s.applySnapshot({ meta: { index: 1, term: 1, conf: copyConf(conf) }, data: new Uint8Array() });
    s.setHardState({ term: 1, vote: null, commit: 1 });
    return s;
  }

  /**
   * Storage for a node restarting from disk (shaped like cluster/storage's RecoveredLog): the
   * snapshot, then the entries after it, then the hard state.
   */
  static restore(rec: { hardState: HardState; snapshot: Snapshot | null; entries: readonly Entry[] }): MemoryStorage {
    const s = new MemoryStorage();
    if (rec.snapshot !== null) s.applySnapshot(rec.snapshot);
    s.append(rec.entries);
    s.setHardState(rec.hardState);
    return s;
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: { ...this.hard }, confState: copyConf(this.snap.meta.conf) };
  }

  setHardState(hs: HardState): void {
    this.hard = { ...hs };
  }

  private get offset(): number {
    return (this.ents[0] as Entry).index;
  }

  firstIndex(): number {
    return this.offset + 1;
  }

  lastIndex(): number {
    return this.offset + this.ents.length - 1;
  }

  /** Entries in [lo, hi). */
  entries(lo: number, hi: number): Entry[] {
    if (lo <= this.offset) throw new RaftError('RAFT_ERR_COMPACTED', `entry ${lo} compacted (first ${this.firstIndex()})`);
    if (hi > this.lastIndex() + 1) throw new RaftError('RAFT_ERR_UNAVAILABLE', `entries to ${hi - 1} beyond last ${this.lastIndex()}`);
    return this.ents.slice(lo - this.offset, hi - this.offset);
  }

  term(i: number): number {
    if (i < this.offset) throw new RaftError('RAFT_ERR_COMPACTED', `term of ${i} compacted (snapshot at ${this.offset})`);
    const e = this.ents[i - this.offset];
    if (e === undefined) throw new RaftError('RAFT_ERR_UNAVAILABLE', `term of ${i} beyond last ${this.lastIndex()}`);
    return e.term;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replace everything with a snapshot (a follower installing the leader's, or recovery at start). */
  applySnapshot(snap: Snapshot): void {
    if (snap.meta.index <= this.snap.meta.index && this.snap.meta.index > 0) {
      throw new RaftError('RAFT_ERR_SNAPSHOT_OUT_OF_DATE', `snapshot ${snap.meta.index} not newer than ${this.snap.meta.index}`);
    }
    this.snap = { meta: { index: snap.meta.index, term: snap.meta.term, conf: copyConf(snap.meta.conf) }, data: snap.data };
    this.ents = [{ index: snap.meta.index, term: snap.meta.term, type: 'normal', data: new Uint8Array() }];
  }

  /** Record a snapshot of the state machine at `index` (<= applied); does not drop entries (see compact). */
  createSnapshot(index: number, conf: ConfState, data: Uint8Array): Snapshot {
    if (index <= this.snap.meta.index) {
      throw new RaftError('RAFT_ERR_SNAPSHOT_OUT_OF_DATE', `snapshot ${index} not newer than ${this.snap.meta.index}`);
    }
    if (index > this.lastIndex()) throw new RaftError('RAFT_ERR_UNAVAILABLE', `snapshot ${index} beyond last ${this.lastIndex()}`);
    this.snap = { meta: { index, term: this.term(index), conf: copyConf(conf) }, data };
    return this.snap;
  }

  /** Drop entries before `index`; `index` becomes the placeholder (its term is kept). */
  compact(index: number): void {
    if (index <= this.offset) throw new RaftError('RAFT_ERR_COMPACTED', `already compacted to ${this.offset}`);
    if (index > this.lastIndex()) throw new RaftError('RAFT_ERR_UNAVAILABLE', `compact ${index} beyond last ${this.lastIndex()}`);
    const at = index - this.offset;
    const keep = this.ents[at] as Entry;
    this.ents = [{ index: keep.index, term: keep.term, type: 'normal', data: new Uint8Array() }, ...this.ents.slice(at + 1)];
  }

  /** Append entries; an entry whose index is already stored replaces it and everything after it. */
  append(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    const firstKept = this.firstIndex();
    const lastNew = first.index + entries.length - 1;
    if (lastNew < firstKept) return;
    const todo = first.index < firstKept ? entries.slice(firstKept - first.index) : entries;
    const start = (todo[0] as Entry).index;
    if (start > this.lastIndex() + 1) {
      throw new RaftError('RAFT_ERR_UNAVAILABLE', `append at ${start} leaves a gap after ${this.lastIndex()}`);
    }
    this.ents = [...this.ents.slice(0, start - this.offset), ...todo];
  }
}
