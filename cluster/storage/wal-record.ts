// WAL record payloads. Entries and hard state (every save) use a fixed binary layout so command bytes
// go to disk as they are, with no base64 or JSON cost; the rare segment header is JSON so it can grow.
import type { Entry, EntryType, HardState } from '../raft/types.js';
import { frameSize, writeFrame } from './record-frame.js';

export const RecordType = {
  /** First record of every segment: where it starts and the state at that point. */
  header: 1,
  entry: 2,
  hardState: 3,
  /** Entries with index >= this are gone (a follower dropping a conflicting tail). */
  truncate: 4,
  /** A snapshot at (index, term) is durable; the log now starts after it. */
  snapshot: 5,
} as const;

export type RecordTypeCode = (typeof RecordType)[keyof typeof RecordType];

export function isKnownRecordType(type: number): boolean {
  return type >= RecordType.header && type <= RecordType.snapshot;
}

export interface SnapshotMark {
  index: number;
  term: number;
}

export interface SegmentHeader {
  seq: number;
  /** Index the next entry appended to this segment will have (last index at creation + 1). */
  firstIndex: number;
  hardState: HardState;
  snapshot: SnapshotMark | null;
}

export type WalRecord =
  | { type: typeof RecordType.header; header: SegmentHeader }
  | { type: typeof RecordType.entry; entry: Entry }
  | { type: typeof RecordType.hardState; hardState: HardState }
  | { type: typeof RecordType.truncate; index: number }
  | { type: typeof RecordType.snapshot; mark: SnapshotMark };

// Indices and terms are stored in 48 bits: 2.8e14 entries outlasts any appliance, and it keeps the
// value an exact JS number without BigInt on the hot path.
const U48 = 6;
const MAX_U48 = 2 ** 48 - 1;

const ENTRY_TYPES: readonly EntryType[] = ['normal', 'conf-change'];

function entryTypeCode(type: EntryType): number {
  switch (type) {
    case 'normal':
      return 0;
    case 'conf-change':
      return 1;
    default: {
      const never: never = type;
      throw new Error(`unknown entry type ${String(never)}`);
    }
  }
}

function checkU48(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > MAX_U48) throw new RangeError(`${name} ${value} is not a 48-bit integer`);
}

function payloadOf(record: WalRecord): Buffer {
  switch (record.type) {
    case RecordType.header:
      return Buffer.from(JSON.stringify({ v: 1, ...record.header }), 'utf8');
    case RecordType.entry: {
      const e = record.entry;
      checkU48('term', e.term);
      checkU48('index', e.index);
      const out = Buffer.allocUnsafe(U48 * 2 + 1 + e.data.length);
      out.writeUIntLE(e.term, 0, U48);
      out.writeUIntLE(e.index, U48, U48);
      out[U48 * 2] = entryTypeCode(e.type);
      out.set(e.data, U48 * 2 + 1);
      return out;
    }
    case RecordType.hardState: {
      const hs = record.hardState;
      checkU48('term', hs.term);
      checkU48('commit', hs.commit);
      const vote = hs.vote === null ? null : Buffer.from(hs.vote, 'utf8');
      if (vote && vote.length >= 0xffff) throw new RangeError('vote id too long');
      const out = Buffer.allocUnsafe(U48 * 2 + 2 + (vote?.length ?? 0));
      out.writeUIntLE(hs.term, 0, U48);
      out.writeUIntLE(hs.commit, U48, U48);
      out.writeUInt16LE(vote ? vote.length : 0xffff, U48 * 2);
      if (vote) out.set(vote, U48 * 2 + 2);
      return out;
    }
    case RecordType.truncate: {
      checkU48('index', record.index);
      const out = Buffer.allocUnsafe(U48);
      out.writeUIntLE(record.index, 0, U48);
      return out;
    }
    case RecordType.snapshot: {
      checkU48('index', record.mark.index);
      checkU48('term', record.mark.term);
      const out = Buffer.allocUnsafe(U48 * 2);
      out.writeUIntLE(record.mark.index, 0, U48);
      out.writeUIntLE(record.mark.term, U48, U48);
      return out;
    }
    default: {
      const never: never = record;
      throw new Error(`unknown record ${JSON.stringify(never)}`);
    }
  }
}

/** Frames a batch of records into one buffer, so a save is one write() and one fsync. */
export function encodeRecords(records: readonly WalRecord[]): Buffer {
  const payloads = records.map(payloadOf);
  const out = Buffer.allocUnsafe(payloads.reduce((n, p) => n + frameSize(p.length), 0));
  let at = 0;
  records.forEach((r, i) => {
    at = writeFrame(out, at, r.type, payloads[i] as Buffer);
  });
  return out;
}

function need(payload: Buffer, bytes: number, what: string): void {
  if (payload.length < bytes) throw new Error(`${what} record is ${payload.length} bytes, needs ${bytes}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function readHardState(v: unknown): HardState {
  if (!isObject(v) || typeof v.term !== 'number' || typeof v.commit !== 'number' || !(v.vote === null || typeof v.vote === 'string')) {
    throw new Error('header hard state is malformed');
  }
  return { term: v.term, vote: v.vote, commit: v.commit };
}

function readHeader(payload: Buffer): SegmentHeader {
  const v: unknown = JSON.parse(payload.toString('utf8'));
  if (!isObject(v) || v.v !== 1 || typeof v.seq !== 'number' || typeof v.firstIndex !== 'number') {
    throw new Error('segment header is malformed');
  }
  const snap = v.snapshot;
  let snapshot: SnapshotMark | null = null;
  if (snap !== null) {
    if (!isObject(snap) || typeof snap.index !== 'number' || typeof snap.term !== 'number') throw new Error('header snapshot is malformed');
    snapshot = { index: snap.index, term: snap.term };
  }
  return { seq: v.seq, firstIndex: v.firstIndex, hardState: readHardState(v.hardState), snapshot };
}

/** Decodes a checksummed payload; throws if its contents do not fit its type (a writer bug, not a torn write). */
export function decodeRecord(type: number, payload: Buffer): WalRecord {
  switch (type) {
    case RecordType.header:
      return { type, header: readHeader(payload) };
    case RecordType.entry: {
      need(payload, U48 * 2 + 1, 'entry');
      const typeCode = payload[U48 * 2] as number;
      const entryType = ENTRY_TYPES[typeCode];
      if (entryType === undefined) throw new Error(`unknown entry type code ${typeCode}`);
      return {
        type,
        entry: {
          term: payload.readUIntLE(0, U48),
          index: payload.readUIntLE(U48, U48),
          type: entryType,
          // Copy out: the payload is a view into a whole segment read into memory.
          data: new Uint8Array(payload.subarray(U48 * 2 + 1)),
        },
      };
    }
    case RecordType.hardState: {
      need(payload, U48 * 2 + 2, 'hard state');
      const voteLen = payload.readUInt16LE(U48 * 2);
      const vote = voteLen === 0xffff ? null : payload.toString('utf8', U48 * 2 + 2, U48 * 2 + 2 + voteLen);
      if (vote !== null && payload.length !== U48 * 2 + 2 + voteLen) throw new Error('hard state vote length mismatch');
      return { type, hardState: { term: payload.readUIntLE(0, U48), commit: payload.readUIntLE(U48, U48), vote } };
    }
    case RecordType.truncate:
      need(payload, U48, 'truncate');
      return { type, index: payload.readUIntLE(0, U48) };
    case RecordType.snapshot:
      need(payload, U48 * 2, 'snapshot');
      return { type, mark: { index: payload.readUIntLE(0, U48), term: payload.readUIntLE(U48, U48) } };
    default:
      throw new Error(`unknown record type ${type}`);
  }
}
