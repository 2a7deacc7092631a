// WAL segment files: names, atomic creation, and reading one back record by record with torn-tail detection.
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { corrupt } from './errors.js';
import { anyValidFrameAfter, readFrame } from './record-frame.js';
import { encodeRecords, decodeRecord, isKnownRecordType, RecordType } from './wal-record.js';
import type { SegmentHeader, WalRecord } from './wal-record.js';
import { syncDirectory } from './directory.js';

export interface SegmentName {
  file: string;
  seq: number;
  firstIndex: number;
}

const NAME = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/;

export function segmentFileName(seq: number, firstIndex: number): string {
  return `${seq.toString(16).padStart(16, '0')}-${firstIndex.toString(16).padStart(16, '0')}.wal`;
}

export function parseSegmentName(file: string): SegmentName | null {
  const m = NAME.exec(file);
  if (!m) return null;
  return { file, seq: parseInt(m[1] as string, 16), firstIndex: parseInt(m[2] as string, 16) };
}

export interface PositionedRecord {
  record: WalRecord;
  offset: number;
}

export interface SegmentContents {
  records: PositionedRecord[];
  /** Bytes up to the end of the last intact record. */
  validBytes: number;
  fileBytes: number;
}

/**
 * Reads every record of a segment. Damage with nothing valid after it is a torn tail, allowed only in
 * the last segment (a crash mid-append); damage followed by an intact record means bytes that were
 * once acknowledged are gone, so it is reported as corruption.
 */
export async function readSegment(dir: string, name: SegmentName, isLast: boolean): Promise<SegmentContents> {
  const path = join(dir, name.file);
  const buf = await readFile(path);
  const records: PositionedRecord[] = [];
  let at = 0;
  while (at < buf.length) {
    const frame = readFrame(buf, at, isKnownRecordType);
    if (frame.kind !== 'ok') {
      const why = frame.kind === 'short' ? 'record runs past the end of the file' : frame.why;
      const later = anyValidFrameAfter(buf, at + 1, isKnownRecordType);
      if (later !== null) throw corrupt(path, at, `${why}, yet an intact record follows at byte ${later}`);
      if (!isLast) throw corrupt(path, at, `${why} in a segment that is not the last`);
      if (at === 0) throw corrupt(path, 0, `${why}: the segment header is damaged`);
      break;
    }
    let record: WalRecord;
    try {
      record = decodeRecord(frame.type, frame.payload);
    } catch (err) {
      throw corrupt(path, at, `undecodable record: ${(err as Error).message}`);
    }
    if ((at === 0) !== (record.type === RecordType.header)) {
      throw corrupt(path, at, at === 0 ? 'segment does not start with a header' : 'header record inside a segment');
    }
    records.push({ record, offset: at });
    at = frame.next;
  }
  if (records.length === 0) throw corrupt(path, 0, 'empty segment');
  return { records, validBytes: at, fileBytes: buf.length };
}

/**
 * Creates a segment holding only its header, atomically: written under a temporary name, fsynced,
 * renamed, then the directory fsynced. A crash leaves either no segment or a complete header.
 */
export async function createSegment(dir: string, header: SegmentHeader): Promise<SegmentName & { bytes: number }> {
  const file = segmentFileName(header.seq, header.firstIndex);
  const tmp = join(dir, `${file}.tmp`);
  const bytes = encodeRecords([{ type: RecordType.header, header }]);
  const fh = await open(tmp, 'w');
  try {
    await fh.write(bytes, 0, bytes.length, 0);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, file));
  await syncDirectory(dir);
  return { file, seq: header.seq, firstIndex: header.firstIndex, bytes: bytes.length };
}

export async function removeFile(dir: string, file: string): Promise<void> {
  await unlink(join(dir, file));
}
