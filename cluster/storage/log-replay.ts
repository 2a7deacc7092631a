// Rebuilds the log from segment records (oldest first) and the newest snapshot, checking that every
// record continues the one before: a gap means lost bytes, which is corruption, never a silent skip.
import type { Entry, HardState, Snapshot } from '../raft/types.js';
import { corrupt } from './errors.js';
import type { SegmentContents, SegmentName } from './segment-file.js';
import { RecordType } from './wal-record.js';
import type { SegmentHeader, SnapshotMark } from './wal-record.js';

export interface ReplayResult {
  hardState: HardState;
  /** Newest snapshot mark (from a WAL record or the snapshot file itself). */
  mark: SnapshotMark | null;
  /** Entries after `base`, contiguous. */
  entries: Entry[];
  /** Index just before entries[0]: the snapshot index, or 0. */
  base: number;
}

export class LogReplay {
  #hardState: HardState = { term: 0, vote: null, commit: 0 };
  #mark: SnapshotMark | null = null;
  /** Entries base+1 .. base+log.length. */
  #log: Entry[] = [];
  #base = 0;
  #prev: SegmentName | null = null;
  readonly #snapshotIndex: number;

  /** `dir` only names files in errors; `snapshotIndex` is the newest intact snapshot file's index (0 if none). */
  constructor(
    private readonly dir: string,
    snapshotIndex: number,
  ) {
    this.#snapshotIndex = snapshotIndex;
  }

  get #lastIndex(): number {
    return this.#base + this.#log.length;
  }

  segment(name: SegmentName, contents: SegmentContents): void {
    const path = `${this.dir}/${name.file}`;
    const [first, ...rest] = contents.records;
    if (first?.record.type !== RecordType.header) throw corrupt(path, 0, 'segment does not start with a header');
    const header: SegmentHeader = first.record.header;
    if (header.seq !== name.seq || header.firstIndex !== name.firstIndex) {
      throw corrupt(path, 0, `header (seq ${header.seq}, first index ${header.firstIndex}) does not match the file name`);
    }
    if (this.#prev === null) {
      const base = header.firstIndex - 1;
      if (base > this.#snapshotIndex) {
        throw corrupt(path, 0, `oldest segment starts after index ${base} but the newest snapshot file covers only up to ${this.#snapshotIndex}: earlier segments or a snapshot file are missing`);
      }
      this.#base = base;
    } else {
      if (header.seq !== this.#prev.seq + 1) throw corrupt(path, 0, `segment ${this.#prev.seq + 1} is missing (previous is ${this.#prev.file})`);
      if (header.firstIndex !== this.#lastIndex + 1) {
        throw corrupt(path, 0, `segment starts at index ${header.firstIndex} but the log before it ends at ${this.#lastIndex}`);
      }
    }
    this.#hardState = header.hardState;
    if (header.snapshot && (this.#mark === null || header.snapshot.index > this.#mark.index)) this.#mark = header.snapshot;
    for (const { record, offset } of rest) {
      switch (record.type) {
        case RecordType.header:
          throw corrupt(path, offset, 'header record inside a segment');
        case RecordType.entry: {
          const e = record.entry;
          if (e.index !== this.#lastIndex + 1) throw corrupt(path, offset, `entry ${e.index} does not follow ${this.#lastIndex}`);
          this.#log.push(e);
          break;
        }
        case RecordType.truncate:
          if (record.index > this.#lastIndex + 1) throw corrupt(path, offset, `truncation at ${record.index} is past the log end ${this.#lastIndex}`);
          if (record.index <= this.#base) {
            // Everything we hold is dropped; the log restarts right before the truncation point.
            this.#log = [];
            this.#base = record.index - 1;
          } else {
            this.#log.length = record.index - this.#base - 1;
          }
          break;
        case RecordType.hardState:
          this.#hardState = record.hardState;
          break;
        case RecordType.snapshot:
          this.#applyMark(record.mark);
          if (this.#mark === null || record.mark.index >= this.#mark.index) this.#mark = record.mark;
          break;
        default: {
          const never: never = record;
          throw corrupt(path, offset, `unhandled record ${JSON.stringify(never)}`);
        }
      }
    }
    this.#prev = name;
  }

  /**
   * A snapshot at (index, term) keeps the entries after it only if our entry at that index has the
   * same term (local compaction); otherwise it replaced a conflicting log (an install from the leader).
   */
  #applyMark(mark: SnapshotMark): void {
    if (mark.index <= this.#base) return;
    const ours = mark.index <= this.#lastIndex ? this.#log[mark.index - this.#base - 1] : undefined;
    if (ours !== undefined && ours.term === mark.term) {
      this.#log = this.#log.slice(mark.index - this.#base);
    } else {
      this.#log = [];
    }
    this.#base = mark.index;
  }

  finish(snapshot: Snapshot | null, lastSegmentPath: string): ReplayResult {
    const snapIndex = snapshot?.meta.index ?? 0;
    if (this.#mark !== null && this.#mark.index > snapIndex) {
      throw corrupt(lastSegmentPath, 0, `the log records a snapshot at index ${this.#mark.index} but the newest snapshot file is at ${snapIndex}`);
    }
    // The snapshot file may be newer than its WAL mark (a crash between the two): it applies all the same.
    if (snapshot) this.#applyMark({ index: snapshot.meta.index, term: snapshot.meta.term });
    const mark = snapshot ? { index: snapshot.meta.index, term: snapshot.meta.term } : this.#mark;
    return { hardState: this.#hardState, mark, entries: this.#log, base: this.#base };
  }
}
