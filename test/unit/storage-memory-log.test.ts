// The in-memory DurableLog fake keeps the disk log's overwrite and snapshot semantics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Entry } from '../../cluster/raft/types.js';
import { MemoryDurableLog } from '../../cluster/storage/memory-log.js';
import { StorageError } from '../../cluster/storage/errors.js';

const e = (index: number, term: number): Entry => ({ index, term, type: 'normal', data: Uint8Array.of(index, term) });

test('memory log: overwrite, snapshot compaction and install, recover', async () => {
  const log = new MemoryDurableLog();
  await log.save({ term: 1, vote: 'n1', commit: 0 }, [e(1, 1), e(2, 1), e(3, 1), e(4, 1)]);
  await log.save(null, [e(3, 2)]);
  assert.deepEqual(log.recover().entries, [e(1, 1), e(2, 1), e(3, 2)]);
  await assert.rejects(log.save(null, [e(5, 2)]), (err: unknown) => err instanceof StorageError && err.code === 'STORAGE_ERR_INVALID');

  await log.saveSnapshot({ meta: { index: 2, term: 1, conf: { voters: ['n1'], learners: [] } }, data: Uint8Array.of(9) });
  assert.deepEqual(log.recover().entries, [e(3, 2)], 'a matching snapshot keeps the tail');
  await log.saveSnapshot({ meta: { index: 3, term: 7, conf: { voters: ['n1'], learners: [] } }, data: Uint8Array.of(8) });
  const r = log.recover();
  assert.deepEqual(r.entries, [], 'a conflicting snapshot drops the tail');
  assert.deepEqual(r.hardState, { term: 1, vote: 'n1', commit: 0 });
  assert.equal(r.snapshot?.meta.index, 3);
  assert.equal(log.syncs, 2);
  await log.close();
  await assert.rejects(log.save(null, [e(4, 7)]), (err: unknown) => err instanceof StorageError && err.code === 'STORAGE_ERR_CLOSED');
});
