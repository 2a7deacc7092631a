// The simulator's judges must be able to say no: linearizability of small KV histories and the
// safety checker's verdicts on hand-made violations.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SafetyChecker, SimViolation } from '../sim/invariants.js';
import { checkLinearizable, type KvOp } from '../sim/linearizability.js';
import type { Disk } from '../sim/scripted-cluster.js';

const w = (client: number, value: string, invoke: number, response: number, key = 'x'): KvOp => ({ client, key, kind: 'write', value, invoke, response });
const r = (client: number, value: string | null, invoke: number, response: number, key = 'x'): KvOp => ({ client, key, kind: 'read', value, invoke, response });

test('linearizability: a read after a completed write must see it (or something newer)', () => {
  assert.deepEqual(checkLinearizable([w(0, 'a', 0, 10), r(1, 'a', 20, 30)]), { ok: true });
  assert.equal(checkLinearizable([w(0, 'a', 0, 10), r(1, null, 20, 30)]).ok, false, 'stale read');
  // Concurrent read may see the old or the new value.
  assert.deepEqual(checkLinearizable([w(0, 'a', 0, 10), r(1, null, 5, 15)]), { ok: true });
  assert.deepEqual(checkLinearizable([w(0, 'a', 0, 10), r(1, 'a', 5, 15)]), { ok: true });
});

test('linearizability: reads may not go back in time', () => {
  const h = [w(0, 'a', 0, 10), w(0, 'b', 20, 30), r(1, 'b', 40, 50), r(2, 'a', 60, 70)];
  assert.equal(checkLinearizable(h).ok, false);
});

test('linearizability: a write with unknown outcome may take effect late or never', () => {
  assert.deepEqual(checkLinearizable([w(0, 'a', 0, Infinity), r(1, null, 20, 30), r(1, 'a', 40, 50)]), { ok: true });
  assert.deepEqual(checkLinearizable([w(0, 'a', 0, Infinity), r(1, null, 20, 30)]), { ok: true });
  // But once seen it cannot disappear.
  assert.equal(checkLinearizable([w(0, 'a', 0, Infinity), r(1, 'a', 20, 30), r(1, null, 40, 50)]).ok, false);
});

test('linearizability: keys are independent registers', () => {
  const h = [w(0, '1', 0, 10, 'x'), w(1, '2', 0, 10, 'y'), r(2, '1', 20, 30, 'x'), r(2, '2', 20, 30, 'y')];
  assert.deepEqual(checkLinearizable(h), { ok: true });
  assert.equal(checkLinearizable([...h, r(2, '1', 40, 50, 'y')]).ok, false);
});

const disk = (entries: [number, number][]): Disk => ({
  hardState: { term: 0, vote: null, commit: 0 },
  snapshot: null,
  entries: entries.map(([index, term]) => ({ index, term, type: 'normal', data: new Uint8Array([index]) })),
});

function violation(fn: () => void): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof SimViolation) return e.invariant;
    throw e;
  }
  return 'none';
}

test('safety checker: two leaders in one term, two VIP holders, a lost acknowledged write', () => {
  const c = new SafetyChecker();
  c.onLeader('n1', 2, disk([[1, 1]]), 0);
  assert.equal(violation(() => c.onLeader('n2', 2, disk([[1, 1]]), 1)), 'election safety');
  assert.equal(violation(() => c.checkLeases(['n1', 'n2'])), 'single VIP lease');
  assert.equal(violation(() => c.checkLeases(['n1'])), 'none');
  c.acked.push({ index: 2, term: 2, what: 'write x=1' });
  const disks = new Map([
    ['n1', disk([[1, 1], [2, 2]])],
    ['n2', disk([[1, 1]])],
    ['n3', disk([[1, 1]])],
  ]);
  assert.equal(violation(() => c.checkDurability(disks, ['n1', 'n2', 'n3'])), 'durability');
  disks.set('n2', disk([[1, 1], [2, 2]]));
  assert.equal(violation(() => c.checkDurability(disks, ['n1', 'n2', 'n3'])), 'none');
});

test('safety checker: state machine safety, log matching, leader completeness', () => {
  const c = new SafetyChecker();
  const e = (index: number, term: number, byte: number) => ({ index, term, type: 'normal' as const, data: new Uint8Array([byte]) });
  c.onApply('n1', e(5, 2, 1), 10);
  assert.equal(violation(() => c.onApply('n2', e(5, 3, 1), 11)), 'state machine safety');
  const d1 = disk([[1, 1], [2, 1]]);
  c.onPersist('n1', d1, [d1.entries[1] as (typeof d1.entries)[number]]);
  const d2 = disk([[1, 2], [2, 1]]);
  assert.equal(violation(() => c.onPersist('n2', d2, [d2.entries[1] as (typeof d2.entries)[number]])), 'log matching');
  assert.equal(violation(() => c.onLeader('n3', 4, disk([[1, 1]]), 20)), 'leader completeness');
});
