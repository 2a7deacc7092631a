// The disk WAL against real files in os.tmpdir(): round trips, overwrite, rotation, snapshots, and
// recovery from torn tails (truncated, logged) versus damage in the middle (refused, typed error).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { copyFile, mkdtemp, open, readdir, readFile, rm, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Logger } from 'pino';
import type { Entry, HardState, Snapshot } from '../../cluster/raft/types.js';
import { openDurableLog } from '../../cluster/storage/file-log.js';
import { StorageError } from '../../cluster/storage/errors.js';

interface LogLine {
  level: number;
  msg: string;
  droppedBytes?: number;
}

function capture(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l) as LogLine);
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ballast-wal-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function entry(index: number, term: number, size = 16): Entry {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (index * 31 + i * 7) & 0xff;
  return { index, term, type: index % 5 === 0 ? 'conf-change' : 'normal', data };
}

function range(from: number, to: number, term: number, size = 16): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(entry(i, term, size));
  return out;
}

function snapshotAt(index: number, term: number, bytes = 1000): Snapshot {
  return {
    meta: { index, term, conf: { voters: ['n1', 'n2', 'n3'], learners: ['n4'] } },
    data: Uint8Array.from({ length: bytes }, (_, i) => (i * 13 + index) & 0xff),
  };
}

async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith('.wal')).sort();
}

async function reopen(dir: string, segmentBytes?: number): Promise<Awaited<ReturnType<typeof openDurableLog>> & { lines: LogLine[] }> {
  const { logger, lines } = capture();
  const opened = await openDurableLog(dir, segmentBytes === undefined ? { logger } : { logger, segmentBytes });
  return { ...opened, lines };
}

async function expectCorrupt(dir: string, file: string, offset?: number): Promise<StorageError> {
  let caught: unknown;
  try {
    const { log } = await reopen(dir);
    await log.close();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof StorageError, `expected a StorageError, got ${String(caught)}`);
  assert.equal(caught.code, 'STORAGE_ERR_CORRUPT');
  assert.equal(caught.file, join(dir, file));
  if (offset !== undefined) assert.equal(caught.offset, offset);
  assert.match(caught.message, new RegExp(file.replace('.', '\\.')));
  return caught;
}

test('a fresh log recovers empty, then round-trips entries, hard state and binary data', async (t) => {
  const dir = await tempDir(t);
  const first = await reopen(dir);
  assert.deepEqual(first.recovered, { hardState: { term: 0, vote: null, commit: 0 }, snapshot: null, entries: [], truncatedBytes: 0 });
  const entries: Entry[] = [
    { index: 1, term: 1, type: 'normal', data: new Uint8Array(0) },
    { index: 2, term: 1, type: 'conf-change', data: Uint8Array.from({ length: 256 }, (_, i) => i) },
    { index: 3, term: 2, type: 'normal', data: new TextEncoder().encode('{"op":"add-backend","name":"wëb1"}') },
  ];
  const hs: HardState = { term: 2, vote: 'n2', commit: 2 };
  await first.log.save(hs, entries);
  await first.log.close();

  const second = await reopen(dir);
  assert.deepEqual(second.recovered, { hardState: hs, snapshot: null, entries, truncatedBytes: 0 });
  await second.log.close();
});

test('many small saves survive a reopen, and each save costs exactly one datasync', async (t) => {
  const dir = await tempDir(t);
  const { log } = await reopen(dir);
  const probe = await open(join(dir, (await segmentFiles(dir))[0] as string));
  const proto = Object.getPrototypeOf(probe) as { datasync: () => Promise<void> };
  await probe.close();
  const realDatasync = proto.datasync;
  let syncs = 0;
  proto.datasync = function (this: unknown) {
    syncs++;
    return realDatasync.call(this);
  };
  t.after(() => {
    proto.datasync = realDatasync;
  });
  for (let i = 1; i <= 300; i++) await log.save({ term: 1 + Math.floor(i / 100), vote: 'n1', commit: i - 1 }, [entry(i, 1 + Math.floor(i / 100))]);
  assert.equal(syncs, 300);
  await log.save({ term: 4, vote: null, commit: 300 }, range(301, 400, 4));
  assert.equal(syncs, 301, 'a batch of 100 entries plus hard state is one datasync');
  await log.save(null, []);
  await log.save({ term: 4, vote: null, commit: 300 }, []);
  assert.equal(syncs, 301, 'nothing new to write means no write and no fsync');
  await log.close();

  const { recovered, log: again } = await reopen(dir);
  assert.equal(recovered.entries.length, 400);
  assert.deepEqual(recovered.entries[299], entry(300, 4));
  assert.deepEqual(recovered.entries.map((e) => e.index), Array.from({ length: 400 }, (_, i) => i + 1));
  assert.deepEqual(recovered.hardState, { term: 4, vote: null, commit: 300 });
  await again.close();
});

test('an entry whose index exists replaces it and everything after it, across reopen', async (t) => {
  const dir = await tempDir(t);
  const { log } = await reopen(dir);
  await log.save({ term: 1, vote: 'n1', commit: 3 }, range(1, 10, 1));
  await log.save({ term: 2, vote: 'n2', commit: 3 }, [entry(6, 2), entry(7, 2)]);
  assert.equal(log.status().lastIndex, 7);
  await log.close();

  const r1 = await reopen(dir);
  assert.deepEqual(r1.recovered.entries, [...range(1, 5, 1), entry(6, 2), entry(7, 2)]);
  // Appending continues from the rewritten end, and a rewrite of the very last entry works too.
  await r1.log.save(null, [entry(8, 2)]);
  await r1.log.save(null, [entry(8, 3), entry(9, 3)]);
  await r1.log.close();
  const r2 = await reopen(dir);
  assert.deepEqual(r2.recovered.entries, [...range(1, 5, 1), entry(6, 2), entry(7, 2), entry(8, 3), entry(9, 3)]);

  await assert.rejects(r2.log.save(null, [entry(11, 3)]), (e: unknown) => e instanceof StorageError && e.code === 'STORAGE_ERR_INVALID');
  await assert.rejects(r2.log.save(null, [entry(10, 3), entry(12, 3)]), (e: unknown) => e instanceof StorageError && e.code === 'STORAGE_ERR_INVALID');
  await r2.log.save(null, [entry(10, 3)]);
  await r2.log.close();
});

test('segments rotate at the size bound and a rewrite may reach back into an older segment', async (t) => {
  const dir = await tempDir(t);
  const segmentBytes = 4096;
  const { log } = await reopen(dir, segmentBytes);
  for (let i = 1; i <= 200; i++) await log.save({ term: 1, vote: 'n1', commit: i }, [entry(i, 1, 100)]);
  const files = await segmentFiles(dir);
  assert.ok(files.length >= 4, `expected several segments, got ${files.length}`);
  assert.deepEqual(log.status().segments, files);
  for (const f of files) {
    const { size } = await stat(join(dir, f));
    assert.ok(size <= segmentBytes + 200, `${f} is ${size} bytes`);
  }
  // Entry 180 lives in an earlier segment than the active one once we rotate again.
  for (let i = 201; i <= 240; i++) await log.save(null, [entry(i, 1, 100)]);
  await log.save({ term: 2, vote: 'n2', commit: 150 }, [entry(180, 2, 100), entry(181, 2, 100)]);
  await log.close();

  const r = await reopen(dir, segmentBytes);
  assert.deepEqual(r.recovered.entries, [...range(1, 179, 1, 100), entry(180, 2, 100), entry(181, 2, 100)]);
  assert.deepEqual(r.recovered.hardState, { term: 2, vote: 'n2', commit: 150 });
  await r.log.close();
});

test('a snapshot is written atomically and releases the segments it covers', async (t) => {
  const dir = await tempDir(t);
  const segmentBytes = 4096;
  const { log, lines } = await reopen(dir, segmentBytes);
  for (let i = 1; i <= 200; i++) await log.save({ term: 3, vote: 'n3', commit: i }, [entry(i, 3, 100)]);
  const before = await segmentFiles(dir);
  await log.saveSnapshot(snapshotAt(150, 3));
  const after = await segmentFiles(dir);
  assert.ok(after.length < before.length, `segments ${before.length} -> ${after.length}`);
  assert.equal(after.at(-1), before.at(-1), 'the active segment stays');
  assert.ok(lines.some((l) => l.msg.includes('released')));
  assert.deepEqual((await readdir(dir)).filter((f) => f.endsWith('.snap')), ['0000000000000096-0000000000000003.snap']);
  assert.equal((await readdir(dir)).filter((f) => f.endsWith('.tmp')).length, 0);

  await log.save(null, range(201, 210, 3, 100));
  await log.saveSnapshot(snapshotAt(205, 3));
  assert.deepEqual((await readdir(dir)).filter((f) => f.endsWith('.snap')), ['00000000000000cd-0000000000000003.snap'], 'older snapshot files go');
  await assert.rejects(log.save(null, [entry(205, 4)]), (e: unknown) => e instanceof StorageError && e.code === 'STORAGE_ERR_INVALID');
  await log.close();

  const r = await reopen(dir, segmentBytes);
  assert.deepEqual(r.recovered.snapshot, snapshotAt(205, 3));
  assert.deepEqual(r.recovered.entries, range(206, 210, 3, 100));
  assert.deepEqual(r.recovered.hardState, { term: 3, vote: 'n3', commit: 200 });
  await r.log.close();
});

test('a snapshot from the leader that does not match our tail replaces the whole log', async (t) => {
  const dir = await tempDir(t);
  const { log } = await reopen(dir);
  await log.save({ term: 2, vote: 'n1', commit: 5 }, range(1, 10, 2));
  // Same index as our entry 8 but another term: our 8..10 were never committed and must go.
  await log.saveSnapshot(snapshotAt(8, 5));
  await log.save({ term: 5, vote: null, commit: 8 }, [entry(9, 5)]);
  await log.close();
  const r1 = await reopen(dir);
  assert.deepEqual(r1.recovered.entries, [entry(9, 5)]);
  // A snapshot far past our log end (a follower that fell behind) leaves no entries at all.
  await r1.log.saveSnapshot(snapshotAt(500, 6));
  assert.equal(r1.log.status().lastIndex, 500);
  await r1.log.save({ term: 6, vote: null, commit: 500 }, [entry(501, 6)]);
  await r1.log.close();
  const r2 = await reopen(dir);
  assert.equal(r2.recovered.snapshot?.meta.index, 500);
  assert.deepEqual(r2.recovered.entries, [entry(501, 6)]);
  await r2.log.close();
});

test('a torn tail at every byte offset of the last save is truncated, logged, and earlier records stay intact', async (t) => {
  const dir = await tempDir(t);
  const { log } = await reopen(dir);
  for (let i = 1; i <= 20; i++) await log.save({ term: 1, vote: 'n1', commit: i - 1 }, [entry(i, 1, 40)]);
  const [file] = await segmentFiles(dir);
  const path = join(dir, file as string);
  const before = (await stat(path)).size;
  await log.save({ term: 1, vote: 'n1', commit: 20 }, [entry(21, 1, 40)]);
  await log.close();
  const after = (await stat(path)).size;
  const full = await readFile(path);
  const entryEnd = before + 8 + 1 + 12 + 1 + 40; // frame header, type, term+index, entry type, data
  assert.ok(entryEnd < after);

  for (let cut = before + 1; cut < after; cut++) {
    await writeFile(path, full.subarray(0, cut));
    const r = await reopen(dir);
    const keepsEntry = cut >= entryEnd;
    assert.equal(r.recovered.entries.length, keepsEntry ? 21 : 20, `cut at ${cut}`);
    assert.deepEqual(r.recovered.entries.slice(0, 20), range(1, 20, 1, 40));
    assert.deepEqual(r.recovered.hardState, { term: 1, vote: 'n1', commit: 19 }, `cut at ${cut}`);
    const expectDropped = keepsEntry ? cut - entryEnd : cut - before;
    assert.equal(r.recovered.truncatedBytes, expectDropped, `cut at ${cut}`);
    const warn = r.lines.find((l) => l.droppedBytes !== undefined);
    if (expectDropped === 0) {
      assert.equal(warn, undefined, `cut ${cut} is on a record boundary`);
    } else {
      assert.ok(warn, `a log line reports the drop at cut ${cut}`);
      assert.equal(warn.droppedBytes, expectDropped);
      assert.match(warn.msg, new RegExp(`dropped ${expectDropped} bytes`));
    }
    // The file is physically truncated, so the next append lands on a clean boundary.
    assert.equal((await stat(path)).size, keepsEntry ? entryEnd : before);
    await r.log.save({ term: 1, vote: 'n1', commit: 20 }, [entry(21, 1, 40)]);
    await r.log.close();
    const again = await reopen(dir);
    assert.equal(again.recovered.truncatedBytes, 0);
    assert.equal(again.recovered.entries.length, 21);
    await again.log.close();
  }
  // A clean cut exactly at a record boundary drops nothing.
  await writeFile(path, full.subarray(0, before));
  const clean = await reopen(dir);
  assert.equal(clean.recovered.truncatedBytes, 0);
  assert.equal(clean.recovered.entries.length, 20);
  await clean.log.close();
});

test('a corrupt last record is a corrupt tail: truncated, not refused', async (t) => {
  const dir = await tempDir(t);
  const { log } = await reopen(dir);
  await log.save(null, range(1, 5, 1, 40));
  const [file] = await segmentFiles(dir);
  const path = join(dir, file as string);
  await log.close();
  const buf = await readFile(path);
  buf[buf.length - 3] = (buf[buf.length - 3] as number) ^ 0x40;
  await writeFile(path, buf);
  const r = await reopen(dir);
  assert.equal(r.recovered.entries.length, 4);
  assert.ok(r.recovered.truncatedBytes > 40);
  await r.log.close();
});

test('a flipped byte in the middle refuses to start, naming the file and the record offset', async (t) => {
  const dir = await tempDir(t);
  const { log } = await reopen(dir);
  for (let i = 1; i <= 10; i++) await log.save(null, [entry(i, 1, 40)]);
  await log.close();
  const [file] = await segmentFiles(dir);
  const path = join(dir, file as string);
  const buf = await readFile(path);
  const headerBytes = buf.length - 10 * (8 + 1 + 13 + 40);
  const recordSize = 8 + 1 + 13 + 40;
  const third = headerBytes + 2 * recordSize;
  for (const at of [third + 20, third + 2, third + 8]) {
    // A flip in the data, in the length field, and in the type byte: all caught, all refused.
    const bad = Buffer.from(buf);
    bad[at] = (bad[at] as number) ^ 0x01;
    await writeFile(path, bad);
    const err = await expectCorrupt(dir, file as string, third);
    assert.match(err.message, /intact record follows/);
  }
  // The damaged file is left as it was for an operator to inspect.
  assert.equal((await stat(path)).size, buf.length);
});

test('damage in a segment that is not the last, or a missing segment, refuses to start', async (t) => {
  const dir = await tempDir(t);
  const segmentBytes = 2048;
  const { log } = await reopen(dir, segmentBytes);
  for (let i = 1; i <= 100; i++) await log.save({ term: 1, vote: null, commit: i }, [entry(i, 1, 100)]);
  await log.close();
  const files = await segmentFiles(dir);
  assert.ok(files.length >= 4);
  const backup = join(dir, 'backup');
  await writeFile(backup, await readFile(join(dir, files[1] as string)));

  // The tail of a non-last segment torn off: every later segment proves it was once complete.
  const second = join(dir, files[1] as string);
  const { size } = await stat(second);
  await truncate(second, size - 10);
  await expectCorrupt(dir, files[1] as string);
  await copyFile(backup, second);

  await unlink(join(dir, files[2] as string));
  const err = await expectCorrupt(dir, files[3] as string, 0);
  assert.match(err.message, /missing/);

  await unlink(join(dir, files[0] as string));
  await unlink(backup);
  await expectCorrupt(dir, files[1] as string, 0);
});

test('crash simulation: cutting the segment anywhere recovers a record prefix: every save before the cut, part of the next at most', async (t) => {
  const dir = await tempDir(t);
  const { log } = await reopen(dir);
  const [file] = await segmentFiles(dir);
  const path = join(dir, file as string);
  interface Save {
    size: number;
    log: Entry[];
    hardState: HardState;
    from: number;
    entries: Entry[];
  }
  const saves: Save[] = [{ size: (await stat(path)).size, log: [], hardState: { term: 0, vote: null, commit: 0 }, from: 1, entries: [] }];
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  for (let s = 1; s <= 60; s++) {
    const model = (saves.at(-1) as Save).log;
    const count = 1 + rand(4);
    const rewrite = model.length > 3 && rand(5) === 0 ? 1 + rand(3) : 0;
    const from = model.length - rewrite + 1;
    const hardState: HardState = { term: s, vote: s % 2 ? 'n1' : null, commit: Math.max(0, from - 2) };
    const entries = range(from, from + count - 1, s, rand(60));
    await log.save(hardState, entries);
    saves.push({ size: (await stat(path)).size, log: [...model.slice(0, from - 1), ...entries], hardState, from, entries });
  }
  await log.close();
  const full = await readFile(path);

  for (let trial = 0; trial < 60; trial++) {
    const cut = saves[0]!.size + rand(full.length - saves[0]!.size);
    await writeFile(path, full.subarray(0, cut));
    const r = await reopen(dir);
    let k = 0;
    while (k + 1 < saves.length && saves[k + 1]!.size <= cut) k++;
    const done = saves[k]!;
    // Hard state is the last record of its batch, so it is never ahead of its own entries.
    assert.deepEqual(r.recovered.hardState, done.hardState, `cut ${cut}`);
    const candidates: Entry[][] = [done.log];
    const next = saves[k + 1];
    if (next) {
      for (let j = 0; j <= next.entries.length; j++) candidates.push([...done.log.slice(0, next.from - 1), ...next.entries.slice(0, j)]);
    }
    assert.ok(
      candidates.some((c) => c.length === r.recovered.entries.length && c.every((e, i) => e.term === r.recovered.entries[i]!.term && e.index === r.recovered.entries[i]!.index)),
      `cut ${cut}: recovered ${r.recovered.entries.length} entries, not a record prefix`,
    );
    assert.ok(r.recovered.truncatedBytes <= cut - done.size, `cut ${cut}: dropped ${r.recovered.truncatedBytes}`);
    await r.log.close();
  }
});

test('hard state alone is persisted, including a cleared vote', async (t) => {
  const dir = await tempDir(t);
  const { log } = await reopen(dir);
  await log.save({ term: 7, vote: 'n3', commit: 0 }, []);
  await log.close();
  const r1 = await reopen(dir);
  assert.deepEqual(r1.recovered.hardState, { term: 7, vote: 'n3', commit: 0 });
  await r1.log.save({ term: 8, vote: null, commit: 0 }, []);
  await r1.log.close();
  const r2 = await reopen(dir);
  assert.deepEqual(r2.recovered.hardState, { term: 8, vote: null, commit: 0 });
  await r2.log.close();
});

test('a snapshot file whose WAL mark never made it is still used; a damaged snapshot file refuses', async (t) => {
  const dir = await tempDir(t);
  const { log } = await reopen(dir);
  await log.save({ term: 2, vote: 'n1', commit: 10 }, range(1, 12, 2));
  const [file] = await segmentFiles(dir);
  const path = join(dir, file as string);
  const sizeBefore = (await stat(path)).size;
  await log.saveSnapshot(snapshotAt(10, 2));
  await log.close();
  // Crash after the snapshot file's rename but before the WAL mark reached the disk.
  await truncate(path, sizeBefore);
  const r = await reopen(dir);
  assert.equal(r.recovered.truncatedBytes, 0);
  assert.deepEqual(r.recovered.snapshot, snapshotAt(10, 2));
  assert.deepEqual(r.recovered.entries, range(11, 12, 2));
  await r.log.close();

  const snapFile = (await readdir(dir)).find((f) => f.endsWith('.snap')) as string;
  const snapPath = join(dir, snapFile);
  const snap = await readFile(snapPath);
  snap[snap.length - 100] = (snap[snap.length - 100] as number) ^ 0x10;
  await writeFile(snapPath, snap);
  const err = await expectCorrupt(dir, snapFile);
  assert.match(err.message, /checksum/);
});

test('leftover temporary files from an interrupted atomic write are removed at open', async (t) => {
  const dir = await tempDir(t);
  const { log } = await reopen(dir);
  await log.save(null, range(1, 3, 1));
  await log.close();
  await writeFile(join(dir, '0000000000000010-0000000000000001.snap.tmp'), 'half a snapshot');
  const r = await reopen(dir);
  assert.equal(r.recovered.entries.length, 3);
  assert.deepEqual((await readdir(dir)).filter((f) => f.endsWith('.tmp')), []);
  await r.log.close();
  await assert.rejects(r.log.save(null, [entry(4, 1)]), (e: unknown) => e instanceof StorageError && e.code === 'STORAGE_ERR_CLOSED');
});

test('concurrent calls are applied in call order', async (t) => {
  const dir = await tempDir(t);
  const { log } = await reopen(dir);
  const calls: Promise<void>[] = [];
  for (let i = 1; i <= 50; i++) calls.push(log.save({ term: 1, vote: null, commit: i }, [entry(i, 1)]));
  await Promise.all(calls);
  await log.close();
  const r = await reopen(dir);
  assert.deepEqual(r.recovered.entries, range(1, 50, 1));
  assert.equal(r.recovered.hardState.commit, 50);
  await r.log.close();
});
