// MemoryStorage as the driver uses it: bootstrap, append with truncation, compaction, snapshots,
// and typed errors for what is gone or not there yet; plus RawNode's Ready/advance contract.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RaftError } from '../../cluster/raft/errors.js';
import { MemoryStorage } from '../../cluster/raft/memory-storage.js';
import { DEFAULT_RAFT_CONFIG } from '../../cluster/raft/raft.js';
import { RawNode } from '../../cluster/raft/raw-node.js';
import type { Entry } from '../../cluster/raft/types.js';

const e = (index: number, term: number): Entry => ({ index, term, type: 'normal', data: new Uint8Array([index]) });

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof RaftError) return err.code;
    throw err;
  }
  return 'no error';
}

test('MemoryStorage: bootstrap puts the membership in a snapshot at index 1, term 1', () => {
  const s = MemoryStorage.bootstrap({ voters: ['n1', 'n2', 'n3'], learners: [] });
  assert.deepEqual(s.initialState(), { hardState: { term: 1, vote: null, commit: 1 }, confState: { voters: ['n1', 'n2', 'n3'], learners: [] } });
  assert.equal(s.firstIndex(), 2);
  assert.equal(s.lastIndex(), 1);
  assert.equal(s.term(1), 1);
  assert.equal(code(() => s.term(0)), 'RAFT_ERR_COMPACTED');
  assert.equal(code(() => s.term(2)), 'RAFT_ERR_UNAVAILABLE');
});

test('MemoryStorage: append replaces a conflicting suffix; compaction keeps the term of its cut point', () => {
  const s = new MemoryStorage();
  s.append([e(1, 1), e(2, 1), e(3, 1), e(4, 1)]);
  s.append([e(3, 2)]);
  assert.equal(s.lastIndex(), 3);
  assert.equal(s.term(3), 2);
  assert.equal(code(() => s.append([e(9, 2)])), 'RAFT_ERR_UNAVAILABLE', 'no gaps');
  s.compact(2);
  assert.equal(s.firstIndex(), 3);
  assert.equal(s.term(2), 1);
  assert.equal(code(() => s.entries(2, 3)), 'RAFT_ERR_COMPACTED');
  assert.deepEqual(s.entries(3, 4).map((x) => x.term), [2]);
  const snap = s.createSnapshot(3, { voters: ['a'], learners: [] }, new Uint8Array([7]));
  assert.deepEqual(snap.meta, { index: 3, term: 2, conf: { voters: ['a'], learners: [] } });
  assert.equal(code(() => s.createSnapshot(2, { voters: [], learners: [] }, new Uint8Array())), 'RAFT_ERR_SNAPSHOT_OUT_OF_DATE');
  assert.equal(code(() => s.applySnapshot(snap)), 'RAFT_ERR_SNAPSHOT_OUT_OF_DATE');
});

test('RawNode: one Ready at a time; advance records it into storage', () => {
  let now = 0;
  const storage = MemoryStorage.bootstrap({ voters: ['solo'], learners: [] });
  const node = new RawNode({ ...DEFAULT_RAFT_CONFIG, id: 'solo', tickMs: 100, leaseMarginMs: 100, clock: () => now, random: () => 0 }, storage);
  assert.equal(code(() => node.propose(new Uint8Array([1]))), 'RAFT_ERR_NOT_LEADER');
  for (let i = 0; i < 30 && node.softState().role !== 'leader'; i++) {
    now += 100;
    node.tick();
  }
  assert.equal(node.softState().role, 'leader', 'a single voter elects itself once its start-up promise lapsed');
  const { index } = node.propose(new Uint8Array([42]));
  const rd = node.ready();
  assert.equal(code(() => node.ready()), 'RAFT_ERR_READY_PENDING');
  assert.deepEqual(rd.entries.map((x) => x.index), [2, 3], 'no-op and the proposal');
  assert.deepEqual(rd.committedEntries.map((x) => x.index), [2, 3], 'a single voter commits at once');
  assert.equal(rd.softState?.role, 'leader');
  assert.equal(rd.hardState?.commit, 3);
  node.advance();
  assert.equal(code(() => node.advance()), 'RAFT_ERR_NO_READY');
  assert.equal(storage.lastIndex(), index);
  assert.equal(node.hasReady(), false);
  assert.equal(node.lease().valid, true);
  const snap = node.compact(3, new Uint8Array([9]));
  assert.equal(snap.meta.index, 3);
  assert.equal(storage.firstIndex(), 4);
  assert.equal(code(() => node.compact(9, new Uint8Array())), 'RAFT_ERR_UNAVAILABLE');
});

test('RawNode: invalid configuration is refused with a typed error', () => {
  const storage = new MemoryStorage();
  const base = { ...DEFAULT_RAFT_CONFIG, id: 'x', tickMs: 100, leaseMarginMs: 100, clock: () => 0, random: () => 0 };
  assert.equal(code(() => new RawNode({ ...base, electionTick: 1, heartbeatTick: 1 }, storage)), 'RAFT_ERR_INVALID_CONFIG');
  assert.equal(code(() => new RawNode({ ...base, maxClockDrift: 1 }, storage)), 'RAFT_ERR_INVALID_CONFIG');
});
