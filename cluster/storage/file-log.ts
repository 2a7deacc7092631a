// The disk DurableLog: an append-only WAL in size-bounded segments plus atomic snapshot files, one
// fsync per save(), and a recovery that truncates only a torn tail and refuses any other damage.
import { mkdir, open, readdir, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Entry, HardState, Snapshot } from '../raft/types.js';
import type { DurableLog, FileLogOptions, FileLogStatus, RecoveredLog } from './types.js';
import { StorageError, corrupt } from './errors.js';
import { syncDirectory } from './directory.js';
import { LogReplay } from './log-replay.js';
import { createSegment, parseSegmentName, readSegment, removeFile } from './segment-file.js';
import type { SegmentName } from './segment-file.js';
import { parseSnapshotName, readSnapshotFile, writeSnapshotFile } from './snapshot-file.js';
import type { SnapshotName } from './snapshot-file.js';
import { RecordType, encodeRecords } from './wal-record.js';
import type { SnapshotMark, WalRecord } from './wal-record.js';

const DEFAULT_SEGMENT_BYTES = 16 * 1024 * 1024;
const EMPTY_HARD_STATE: HardState = { term: 0, vote: null, commit: 0 };

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

interface FileLogState {
  dir: string;
  logger: Logger;
  segmentBytes: number;
  segments: SegmentName[];
  snapshots: SnapshotName[];
  active: FileHandle;
  position: number;
  hardState: HardState;
  mark: SnapshotMark | null;
  /** Index just before the first entry we hold (the snapshot index, or 0). */
  base: number;
  /** Terms of entries base+1 .. lastIndex: what truncation and snapshot marks are checked against. */
  terms: number[];
}

export class FileLog implements DurableLog {
  readonly #s: FileLogState;
  #queue: Promise<unknown> = Promise.resolve();
  #failed: StorageError | null = null;
  #closed = false;

  constructor(state: FileLogState) {
    this.#s = state;
  }

  get #lastIndex(): number {
    return this.#s.base + this.#s.terms.length;
  }

  status(): FileLogStatus {
    return {
      segments: this.#s.segments.map((s) => s.file),
      snapshotIndex: this.#s.mark?.index ?? 0,
      lastIndex: this.#lastIndex,
      activeSegmentBytes: this.#s.position,
    };
  }

  save(hardState: HardState | null, entries: readonly Entry[]): Promise<void> {
    return this.#exclusive(async () => {
      const records: WalRecord[] = [];
      const first = entries[0];
      if (first !== undefined) {
        this.#checkAppend(entries);
        if (first.index <= this.#lastIndex) records.push({ type: RecordType.truncate, index: first.index });
        for (const entry of entries) records.push({ type: RecordType.entry, entry });
      }
      const newHardState = hardState !== null && !sameHardState(hardState, this.#s.hardState) ? { ...hardState } : null;
      if (newHardState) records.push({ type: RecordType.hardState, hardState: newHardState });
      if (records.length === 0) return;
      await this.#append(records);
      if (first !== undefined) {
        this.#s.terms.length = first.index - this.#s.base - 1;
        for (const e of entries) this.#s.terms.push(e.term);
      }
      if (newHardState) this.#s.hardState = newHardState;
    });
  }

  saveSnapshot(snapshot: Snapshot): Promise<void> {
    return this.#exclusive(async () => {
      const { index, term } = snapshot.meta;
      if (index <= (this.#s.mark?.index ?? 0)) {
        this.#s.logger.debug({ index, have: this.#s.mark?.index }, 'wal: ignoring a snapshot no newer than the one held');
        return;
      }
      let file: string;
      try {
        file = await writeSnapshotFile(this.#s.dir, snapshot);
      } catch (err) {
        // The WAL itself is untouched, so the log stays usable; the caller may retry.
        throw new StorageError('STORAGE_ERR_IO', `writing snapshot ${index}: ${(err as Error).message}`, { file: this.#s.dir, cause: err });
      }
      await this.#append([{ type: RecordType.snapshot, mark: { index, term } }]);
      const s = this.#s;
      // Same rule as recovery: keep the entries after the snapshot only if they continue it.
      const ours = index <= this.#lastIndex ? s.terms[index - s.base - 1] : undefined;
      s.terms = ours === term ? s.terms.slice(index - s.base) : [];
      s.base = index;
      s.mark = { index, term };
      await this.#release(file, index);
    });
  }

  close(): Promise<void> {
    return this.#exclusive(async () => {
      this.#closed = true;
      await this.#s.active.close();
    }, true);
  }

  #exclusive<T>(op: () => Promise<T>, closing = false): Promise<T> {
    const run = async (): Promise<T> => {
      if (this.#closed) throw new StorageError('STORAGE_ERR_CLOSED', 'the log is closed');
      if (this.#failed && !closing) throw this.#failed;
      return op();
    };
    const result = this.#queue.then(run, run);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  #checkAppend(entries: readonly Entry[]): void {
    const first = entries[0] as Entry;
    for (let i = 1; i < entries.length; i++) {
      if ((entries[i] as Entry).index !== first.index + i) {
        throw new StorageError('STORAGE_ERR_INVALID', `entries are not contiguous at position ${i}`);
      }
    }
    if (first.index <= this.#s.base) {
      throw new StorageError('STORAGE_ERR_INVALID', `entry ${first.index} is at or below the snapshot index ${this.#s.base}`);
    }
    if (first.index > this.#lastIndex + 1) {
      throw new StorageError('STORAGE_ERR_INVALID', `entry ${first.index} leaves a gap after the last index ${this.#lastIndex}`);
    }
  }

  async #append(records: readonly WalRecord[]): Promise<void> {
    const s = this.#s;
    try {
      if (s.position >= s.segmentBytes) await this.#rotate();
      const bytes = encodeRecords(records);
      let done = 0;
      while (done < bytes.length) {
        const { bytesWritten } = await s.active.write(bytes, done, bytes.length - done, s.position + done);
        done += bytesWritten;
      }
      await s.active.datasync();
      s.position += bytes.length;
    } catch (err) {
      // After a failed write or fsync the kernel may have dropped dirty pages: retrying could
      // acknowledge data that is not on disk, so the log stops taking writes (PostgreSQL's lesson).
      const active = s.segments[s.segments.length - 1]?.file ?? '';
      this.#failed = new StorageError('STORAGE_ERR_IO', `WAL write failed, log is now read-only: ${(err as Error).message}`, {
        file: join(s.dir, active),
        offset: s.position,
        cause: err,
      });
      s.logger.error({ err, file: this.#failed.file }, 'wal: write failed; refusing further writes');
      throw this.#failed;
    }
  }

  async #rotate(): Promise<void> {
    const s = this.#s;
    const prev = s.segments[s.segments.length - 1] as SegmentName;
    const created = await createSegment(s.dir, {
      seq: prev.seq + 1,
      firstIndex: this.#lastIndex + 1,
      hardState: s.hardState,
      snapshot: s.mark,
    });
    const fh = await open(join(s.dir, created.file), 'r+');
    await s.active.close();
    s.active = fh;
    s.position = created.bytes;
    s.segments.push({ file: created.file, seq: created.seq, firstIndex: created.firstIndex });
    s.logger.debug({ file: created.file, previous: prev.file }, 'wal: rotated segment');
  }

  /** Drops snapshot files older than `keep` and segments whose every entry is at or below `index`. */
  async #release(keep: string, index: number): Promise<void> {
    const s = this.#s;
    const gone: string[] = [];
    for (const snap of s.snapshots) if (snap.file !== keep) gone.push(snap.file);
    s.snapshots = [{ file: keep, index, term: s.mark?.term ?? 0 }];
    // A segment is covered once the next one starts at or below index + 1; the active one always stays.
    while (s.segments.length > 1 && (s.segments[1] as SegmentName).firstIndex - 1 <= index) {
      gone.push((s.segments.shift() as SegmentName).file);
    }
    if (gone.length === 0) return;
    try {
      for (const file of gone) await removeFile(s.dir, file);
      await syncDirectory(s.dir);
    } catch (err) {
      // Harmless to keep them: recovery skips entries the snapshot covers.
      s.logger.warn({ err, files: gone }, 'wal: could not release covered files');
      return;
    }
    s.logger.info({ snapshotIndex: index, released: gone }, 'wal: released files covered by snapshot');
  }
}

async function listStorage(dir: string, logger: Logger): Promise<{ segments: SegmentName[]; snapshots: SnapshotName[] }> {
  const segments: SegmentName[] = [];
  const snapshots: SnapshotName[] = [];
  for (const file of await readdir(dir)) {
    if (file.endsWith('.tmp')) {
      // A temp file is an unfinished atomic write: by construction nothing refers to it yet.
      logger.info({ file }, 'wal: removing unfinished temporary file');
      await unlink(join(dir, file));
      continue;
    }
    const seg = parseSegmentName(file);
    if (seg) segments.push(seg);
    const snap = parseSnapshotName(file);
    if (snap) snapshots.push(snap);
  }
  segments.sort((a, b) => a.seq - b.seq);
  snapshots.sort((a, b) => a.index - b.index);
  return { segments, snapshots };
}

/**
 * Opens (or creates) the log in `dir` and recovers what it holds. Throws StorageError
 * STORAGE_ERR_CORRUPT, naming file and offset, when damage is anywhere but a torn tail.
 */
export async function openDurableLog(dir: string, options: FileLogOptions): Promise<{ log: FileLog; recovered: RecoveredLog }> {
  const logger = options.logger;
  const segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
  await mkdir(dir, { recursive: true });
  const { segments, snapshots } = await listStorage(dir, logger);
  const newest = snapshots[snapshots.length - 1];
  const snapshot = newest ? await readSnapshotFile(dir, newest) : null;

  if (segments.length === 0) {
    if (snapshot) throw corrupt(join(dir, newest?.file ?? ''), 0, 'a snapshot exists but every WAL segment is gone (hard state lost)');
    const created = await createSegment(dir, { seq: 1, firstIndex: 1, hardState: EMPTY_HARD_STATE, snapshot: null });
    const active = await open(join(dir, created.file), 'r+');
    const log = new FileLog({
      dir, logger, segmentBytes, segments: [created], snapshots: [], active, position: created.bytes,
      hardState: EMPTY_HARD_STATE, mark: null, base: 0, terms: [],
    });
    logger.info({ dir }, 'wal: created new log');
    return { log, recovered: { hardState: { ...EMPTY_HARD_STATE }, snapshot: null, entries: [], truncatedBytes: 0 } };
  }

  const replay = new LogReplay(dir, snapshot?.meta.index ?? 0);
  let truncatedBytes = 0;
  let validBytes = 0;
  for (const [i, name] of segments.entries()) {
    const isLast = i === segments.length - 1;
    const contents = await readSegment(dir, name, isLast);
    replay.segment(name, contents);
    if (isLast) {
      validBytes = contents.validBytes;
      truncatedBytes = contents.fileBytes - contents.validBytes;
    }
  }
  const last = segments[segments.length - 1] as SegmentName;
  const result = replay.finish(snapshot, join(dir, last.file));
  const active = await open(join(dir, last.file), 'r+');
  if (truncatedBytes > 0) {
    await active.truncate(validBytes);
    await active.sync();
    logger.warn(
      { file: join(dir, last.file), droppedBytes: truncatedBytes, keptBytes: validBytes },
      `wal: torn tail truncated, dropped ${truncatedBytes} bytes`,
    );
  }
  const log = new FileLog({
    dir, logger, segmentBytes, segments, snapshots, active, position: validBytes,
    hardState: result.hardState, mark: result.mark, base: result.base, terms: result.entries.map((e) => e.term),
  });
  logger.info(
    { dir, segments: segments.length, snapshotIndex: snapshot?.meta.index ?? 0, entries: result.entries.length, truncatedBytes },
    'wal: recovered',
  );
  return { log, recovered: { hardState: { ...result.hardState }, snapshot, entries: result.entries, truncatedBytes } };
}
