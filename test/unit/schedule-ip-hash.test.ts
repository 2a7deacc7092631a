// ip-hash over a Maglev table: affinity, minimal disruption, weights, exclusion, determinism.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IpHashScheduler, normalizeClientKey } from '../../lb/schedule/ip-hash.js';
import { buildMaglevTable, MAGLEV_TABLE_SIZE } from '../../lb/schedule/maglev-table.js';
import { createScheduler } from '../../lb/schedule/scheduler.js';

const addresses = Array.from({ length: 10_000 }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);

function isPrime(n: number): boolean {
  if (n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

test('the table size is prime', () => {
  assert.ok(isPrime(MAGLEV_TABLE_SIZE));
});

test('the same address always reaches the same backend, whatever order backends came up in', () => {
  const one = createScheduler('ip-hash');
  const two = createScheduler('ip-hash');
  for (const id of ['b1', 'b2', 'b3', 'b4']) one.up(id, 1);
  for (const id of ['b4', 'b2', 'b1', 'b3']) two.up(id, 1);
  for (const a of addresses.slice(0, 2000)) {
    const first = one.pick(a);
    assert.equal(one.pick(a), first);
    assert.equal(two.pick(a), first);
  }
  assert.equal(one.pick('::ffff:10.0.0.7'), one.pick('10.0.0.7'));
  assert.equal(normalizeClientKey('::ffff:10.0.0.7'), '10.0.0.7');
  assert.equal(normalizeClientKey('::1'), '::1');
});

test('removing 1 of 5 equal backends moves at most 25% of clients, and almost none of the survivors', () => {
  const s = createScheduler('ip-hash');
  for (let i = 1; i <= 5; i++) s.up(`b${i}`, 1);
  const before = addresses.map((a) => s.pick(a));
  const perBackend: Record<string, number> = {};
  for (const b of before) perBackend[String(b)] = (perBackend[String(b)] ?? 0) + 1;
  for (const n of Object.values(perBackend)) assert.ok(n > 1700 && n < 2300, JSON.stringify(perBackend));
  s.down('b3');
  const after = addresses.map((a) => s.pick(a));
  let moved = 0;
  let survivors = 0;
  let survivorsMoved = 0;
  for (let i = 0; i < addresses.length; i++) {
    if (before[i] !== after[i]) moved++;
    if (before[i] === 'b3') {
      assert.notEqual(after[i], 'b3');
      continue;
    }
    survivors++;
    if (before[i] !== after[i]) survivorsMoved++;
  }
  const movedFraction = moved / addresses.length;
  const survivorsMovedFraction = survivorsMoved / survivors;
  console.log(`ip-hash remove 1 of 5: moved ${(movedFraction * 100).toFixed(2)}% of clients; ` +
    `${(survivorsMovedFraction * 100).toFixed(2)}% of survivors' clients moved`);
  assert.ok(movedFraction <= 0.25, `moved ${movedFraction}`);
  // Maglev trades a little disruption for balance; with 65537 slots it stays far under 2%.
  assert.ok(survivorsMovedFraction <= 0.02, `survivors moved ${survivorsMovedFraction}`);
});

test('weights scale table shares: 1:3 holds 25% / 75% within 1%', () => {
  const s = new IpHashScheduler();
  s.up('light', 16);
  s.up('heavy', 48);
  const shares = s.shares();
  assert.ok(Math.abs((shares.light ?? 0) - 0.25) < 0.01, JSON.stringify(shares));
  assert.ok(Math.abs((shares.heavy ?? 0) - 0.75) < 0.01, JSON.stringify(shares));
  let heavy = 0;
  for (const a of addresses) if (s.pick(a) === 'heavy') heavy++;
  assert.ok(Math.abs(heavy / addresses.length - 0.75) < 0.03, `heavy got ${heavy}`);
  s.setWeight('light', 48);
  assert.ok(Math.abs((s.shares().light ?? 0) - 0.5) < 0.01);
});

test('exclude walks to the next different backend, deterministically', () => {
  const s = createScheduler('ip-hash');
  for (let i = 1; i <= 4; i++) s.up(`b${i}`, 1);
  const spread: Record<string, number> = {};
  for (const a of addresses.slice(0, 1000)) {
    const first = s.pick(a) as string;
    const second = s.pick(a, new Set([first]));
    assert.ok(second !== undefined && second !== first);
    assert.equal(s.pick(a, new Set([first])), second);
    const third = s.pick(a, new Set([first, second]));
    assert.ok(third !== undefined && third !== first && third !== second);
    spread[`${first}>${second}`] = (spread[`${first}>${second}`] ?? 0) + 1;
  }
  // Retries of one backend's clients spread over the others rather than all hitting one neighbour.
  const fromB1 = Object.keys(spread).filter((k) => k.startsWith('b1>'));
  assert.ok(fromB1.length >= 2, JSON.stringify(spread));
  assert.equal(s.pick('10.0.0.1', new Set(['b1', 'b2', 'b3', 'b4'])), undefined);
  for (let i = 1; i <= 4; i++) s.down(`b${i}`);
  assert.equal(s.pick('10.0.0.1'), undefined);
});

test('a table build stays cheap (printed), and every backend gets slots even at weight 1 of 256', () => {
  const entries = Array.from({ length: 50 }, (_, i) => ({ id: `b${i}`, weight: i === 0 ? 1 : 256 }));
  const start = performance.now();
  const t = buildMaglevTable(entries);
  const ms = performance.now() - start;
  console.log(`maglev build, 50 backends, ${MAGLEV_TABLE_SIZE} slots: ${ms.toFixed(1)} ms`);
  assert.ok(t.slots.includes(t.ids.indexOf('b0')));
  assert.ok(ms < 2000);
});
