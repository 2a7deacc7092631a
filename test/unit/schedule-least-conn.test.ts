// Weighted least-connections: load avoidance, weights, round-robin ties, exclusion.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LeastConnScheduler } from '../../lb/schedule/least-conn.js';
import { createScheduler } from '../../lb/schedule/scheduler.js';

test('a backend with many in flight is avoided until the others catch up', () => {
  const s = createScheduler('least-conn');
  for (const id of ['a', 'b', 'c']) s.up(id, 1);
  for (let i = 0; i < 10; i++) s.take('a');
  const first: string[] = [];
  for (let i = 0; i < 18; i++) {
    const id = s.pick('k');
    assert.ok(id !== undefined);
    s.take(id);
    first.push(id);
  }
  assert.ok(!first.includes('a'), first.join(','));
  assert.equal(first.filter((x) => x === 'b').length, 9);
  // Now all three hold 10: a is in the rotation again.
  const next = new Set<string>();
  for (let i = 0; i < 3; i++) {
    const id = s.pick('k') as string;
    s.take(id);
    next.add(id);
  }
  assert.deepEqual([...next].sort(), ['a', 'b', 'c']);
});

test('ties are broken in turn, not always the first backend', () => {
  const s = createScheduler('least-conn');
  for (const id of ['a', 'b', 'c']) s.up(id, 1);
  const seq: string[] = [];
  for (let i = 0; i < 9; i++) {
    const id = s.pick('k') as string;
    s.take(id);
    s.drop(id);
    seq.push(id);
  }
  assert.equal(seq.join(''), 'abcabcabc');
});

test('weights 1:3 with held connections split 1:3', () => {
  const s = createScheduler('least-conn');
  s.up('light', 16);
  s.up('heavy', 48);
  const t: Record<string, number> = {};
  for (let i = 0; i < 400; i++) {
    const id = s.pick('k') as string;
    s.take(id);
    t[id] = (t[id] ?? 0) + 1;
  }
  assert.ok(Math.abs((t.heavy ?? 0) - 300) <= 2 && Math.abs((t.light ?? 0) - 100) <= 2, JSON.stringify(t));
});

test('in-flight counts survive down and up; exclusion and empty set', () => {
  const s = new LeastConnScheduler();
  s.up('a', 1);
  s.up('b', 1);
  for (let i = 0; i < 5; i++) s.take('a');
  s.down('a');
  assert.equal(s.pick('k'), 'b');
  s.up('a', 1);
  assert.equal(s.activeOf('a'), 5);
  assert.equal(s.pick('k'), 'b');
  assert.equal(s.pick('k', new Set(['b'])), 'a');
  assert.equal(s.pick('k', new Set(['a', 'b'])), undefined);
  for (let i = 0; i < 7; i++) s.drop('a'); // more drops than takes never go negative
  assert.equal(s.activeOf('a'), 0);
  s.down('a');
  s.down('b');
  assert.equal(s.pick('k'), undefined);
});
