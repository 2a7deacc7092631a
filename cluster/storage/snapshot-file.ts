// Snapshot files: one per snapshot, written atomically (temp, fsync, rename, fsync dir), checked by CRC-32C.
// Layout: magic(8) | crc32c u32 | meta length u32 | meta JSON | data. The CRC covers everything after itself.
import { open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { ConfState, Snapshot, SnapshotMeta } from '../raft/types.js';
import { crc32c } from './crc32c.js';
import { corrupt } from './errors.js';
import { syncDirectory } from './directory.js';

const MAGIC = Buffer.from('BLSTSNP1', 'ascii');
const HEAD = MAGIC.length + 8;
const NAME = /^([0-9a-f]{16})-([0-9a-f]{16})\.snap$/;

export interface SnapshotName {
  file: string;
  index: number;
  term: number;
}

export function snapshotFileName(index: number, term: number): string {
  return `${index.toString(16).padStart(16, '0')}-${term.toString(16).padStart(16, '0')}.snap`;
}

export function parseSnapshotName(file: string): SnapshotName | null {
  const m = NAME.exec(file);
  if (!m) return null;
  return { file, index: parseInt(m[1] as string, 16), term: parseInt(m[2] as string, 16) };
}

export async function writeSnapshotFile(dir: string, snapshot: Snapshot): Promise<string> {
  const file = snapshotFileName(snapshot.meta.index, snapshot.meta.term);
  const meta = Buffer.from(JSON.stringify(snapshot.meta), 'utf8');
  const head = Buffer.alloc(HEAD);
  MAGIC.copy(head, 0);
  head.writeUInt32LE(meta.length, MAGIC.length + 4);
  let crc = crc32c(head, 0, MAGIC.length + 4);
  crc = crc32c(meta, crc);
  crc = crc32c(snapshot.data, crc);
  head.writeUInt32LE(crc, MAGIC.length);
  const tmp = join(dir, `${file}.tmp`);
  const fh = await open(tmp, 'w');
  try {
    await fh.writev([head, meta, snapshot.data]);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, file));
  await syncDirectory(dir);
  return file;
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

function readMeta(json: string): SnapshotMeta {
  const v: unknown = JSON.parse(json);
  if (typeof v !== 'object' || v === null) throw new Error('meta is not an object');
  const m = v as Record<string, unknown>;
  const conf = m.conf as Record<string, unknown> | null | undefined;
  if (typeof m.index !== 'number' || typeof m.term !== 'number' || typeof conf !== 'object' || conf === null) {
    throw new Error('meta lacks index, term or conf');
  }
  if (!isStringArray(conf.voters) || !isStringArray(conf.learners)) throw new Error('meta conf is malformed');
  const confState: ConfState = { voters: conf.voters, learners: conf.learners };
  return { index: m.index, term: m.term, conf: confState };
}

export async function readSnapshotFile(dir: string, name: SnapshotName): Promise<Snapshot> {
  const path = join(dir, name.file);
  const buf = await readFile(path);
  if (buf.length < HEAD || !buf.subarray(0, MAGIC.length).equals(MAGIC)) throw corrupt(path, 0, 'not a snapshot file');
  const want = buf.readUInt32LE(MAGIC.length);
  if (crc32c(buf, 0, MAGIC.length + 4) !== want) throw corrupt(path, MAGIC.length, 'snapshot checksum mismatch');
  const metaLen = buf.readUInt32LE(MAGIC.length + 4);
  if (HEAD + metaLen > buf.length) throw corrupt(path, MAGIC.length + 4, 'snapshot meta length past end of file');
  let meta: SnapshotMeta;
  try {
    meta = readMeta(buf.toString('utf8', HEAD, HEAD + metaLen));
  } catch (err) {
    throw corrupt(path, HEAD, `snapshot meta: ${(err as Error).message}`);
  }
  if (meta.index !== name.index || meta.term !== name.term) throw corrupt(path, HEAD, 'snapshot meta does not match its file name');
  // A plain Uint8Array view (not a Buffer) so callers compare it like any other entry data.
  const data = new Uint8Array(buf.buffer, buf.byteOffset + HEAD + metaLen, buf.length - HEAD - metaLen);
  return { meta, data };
}
