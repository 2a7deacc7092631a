// Smooth weighted round-robin: shares, interleaving, exclusion and lifecycle hooks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RoundRobinScheduler } from '../../lb/schedule/round-robin.js';
import { createScheduler } from '../../lb/schedule/scheduler.js';

function tally(picks: (string | undefined)[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of picks) out[String(p)] = (out[String(p)] ?? 0) + 1;
  return out;
}

function picks(s: { pick(key: string, exclude?: ReadonlySet<string>): string | undefined }, n: number, exclude?: ReadonlySet<string>): (string | undefined)[] {
  return Array.from({ length: n }, () => s.pick('client', exclude));
}

test('weights 1:2:3 over 6,000 picks land on 1/6, 2/6, 3/6 (within ±3%, exact in fact)', () => {
  const s = createScheduler('round-robin');
  s.up('a', 1);
  s.up('b', 2);
  s.up('c', 3);
  const t = tally(picks(s, 6000));
  console.log('round-robin 1:2:3 over 6000 picks:', t);
  for (const [id, share] of [['a', 1 / 6], ['b', 2 / 6], ['c', 3 / 6]] as const) {
    assert.ok(Math.abs((t[id] ?? 0) / 6000 - share) <= 0.03 * share, `${id}: ${t[id]}`);
  }
  assert.deepEqual(t, { a: 1000, b: 2000, c: 3000 });
});

test('picks interleave: every window of 6 consecutive picks holds exactly 1 a, 2 b, 3 c', () => {
  const s = new RoundRobinScheduler();
  s.up('a', 16);
  s.up('b', 32);
  s.up('c', 48);
  const seq = picks(s, 600);
  let longestRun = 1;
  let run = 1;
  for (let i = 1; i < seq.length; i++) {
    run = seq[i] === seq[i - 1] ? run + 1 : 1;
    longestRun = Math.max(longestRun, run);
  }
  // Plain weighted round-robin would emit "cccbba"; smooth WRR never repeats more than twice here.
  assert.ok(longestRun <= 2, `longest run ${longestRun}: ${seq.slice(0, 12).join('')}`);
  for (let i = 0; i + 6 <= seq.length; i++) {
    assert.deepEqual(tally(seq.slice(i, i + 6)), { a: 1, b: 2, c: 3 }, `window at ${i}`);
  }
});

test('excluded backends are skipped; all excluded gives undefined', () => {
  const s = createScheduler('round-robin');
  s.up('a', 1);
  s.up('b', 1);
  s.up('c', 1);
  assert.deepEqual(tally(picks(s, 30, new Set(['b']))), { a: 15, c: 15 });
  assert.equal(s.pick('client', new Set(['a', 'b', 'c'])), undefined);
});

test('down, up and setWeight change the rotation live', () => {
  const s = createScheduler('round-robin');
  assert.equal(s.pick('client'), undefined);
  s.up('a', 1);
  s.up('b', 1);
  s.down('a');
  assert.deepEqual(tally(picks(s, 10)), { b: 10 });
  s.up('a', 1);
  s.setWeight('a', 3);
  assert.deepEqual(tally(picks(s, 400)), { a: 300, b: 100 });
  s.setWeight('ghost', 5); // not up: ignored, does not join
  s.up('b', 0); // non-positive weight means down
  assert.deepEqual(tally(picks(s, 10)), { a: 10 });
});
