// PoolRuntime slow start: a backend that becomes eligible ramps from weight/16 to its weight.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PoolRuntime } from '../../lb/pool.js';
import { rampStep, WEIGHT_SCALE } from '../../lb/pool-slow-start.js';
import type { BackendHealth, BackendSpec, PoolSpec } from '../../lb/types.js';

function backend(name: string, extra: Partial<BackendSpec> = {}): BackendSpec {
  return { name, host: '127.0.0.1', port: 9100, weight: 2, state: 'active', backup: false, maxConns: 0, ...extra };
}
const healthCheck: NonNullable<PoolSpec['healthCheck']> = {
  type: 'tcp', intervalMs: 1000, timeoutMs: 500, rise: 2, fall: 3, fastIntervalMs: 500, downIntervalMs: 2000,
  method: 'GET', path: '/', expectStatus: [{ from: 200, to: 399 }],
};
function pool(backends: BackendSpec[], extra: Partial<PoolSpec> = {}): PoolSpec {
  return { name: 'p', scheduler: 'round-robin', slowStartMs: 16_000, healthCheck, backends, ...extra };
}
function health(status: BackendHealth['status'], since: number): BackendHealth {
  return { status, reason: 'test', since };
}
function spread(p: PoolRuntime, n: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const l = p.acquire('10.0.0.1');
    const k = l?.backend ?? 'none';
    out[k] = (out[k] ?? 0) + 1;
    l?.release('ok');
  }
  return out;
}

test('ramp arithmetic: floor weight/16, 1/16 steps, full at slowStartMs', () => {
  assert.equal(WEIGHT_SCALE, 16);
  assert.deepEqual(rampStep(3, 1000, 16_000, 1000), { scaledWeight: 3, nextAt: 3000, ramping: true });
  assert.deepEqual(rampStep(3, 1000, 16_000, 9000), { scaledWeight: 24, nextAt: 10_000, ramping: true });
  assert.deepEqual(rampStep(3, 1000, 16_000, 17_000), { scaledWeight: 48, nextAt: Infinity, ramping: false });
  assert.deepEqual(rampStep(3, undefined, 16_000, 5), { scaledWeight: 48, nextAt: Infinity, ramping: false });
  assert.deepEqual(rampStep(3, 1000, 0, 1000), { scaledWeight: 48, nextAt: Infinity, ramping: false });
  // A `since` slightly in the future (clock skew between nodes) starts at the floor.
  assert.equal(rampStep(3, 2000, 16_000, 1000).scaledWeight, 3);
});

test('a backend whose health comes up ramps linearly, and picks follow the ramp lazily', () => {
  let now = 100_000;
  const p = new PoolRuntime(pool([backend('a'), backend('b')]), { now: () => now });
  p.setHealth({ a: health('up', 0), b: health('down', 50_000) });
  assert.deepEqual(p.effectiveWeights(), { a: 2, b: 0 });
  p.setHealth({ a: health('up', 0), b: health('up', now) });
  assert.deepEqual(p.effectiveWeights(), { a: 2, b: 2 / 16 });
  assert.deepEqual(spread(p, 340), { a: 320, b: 20 });
  now += 8000;
  // No setHealth/update: acquire itself notices the step is due.
  assert.deepEqual(spread(p, 300), { a: 200, b: 100 });
  assert.deepEqual(p.effectiveWeights(), { a: 2, b: 1 });
  assert.equal(p.describe().find((d) => d.name === 'b')?.effectiveWeight, 1);
  now += 8000;
  assert.deepEqual(spread(p, 300), { a: 150, b: 150 });
  assert.deepEqual(p.effectiveWeights(), { a: 2, b: 2 });
});

test('the ramp starts at the health transition time, not when this worker heard of it', () => {
  let now = 100_000;
  const p = new PoolRuntime(pool([backend('a'), backend('b')]), { now: () => now });
  p.setHealth({ a: health('up', 0), b: health('down', 90_000) });
  now = 110_000;
  p.setHealth({ a: health('up', 0), b: health('up', 105_000) });
  // 5 s of 16 s elapsed: step 5 of 16.
  assert.equal(p.effectiveWeights().b, (2 * 5) / 16);
});

test('a runtime built with known health ramps only backends that came up recently', () => {
  const now = 100_000;
  const known = { a: health('up', 0), b: health('up', now - 4000) };
  const p = new PoolRuntime(pool([backend('a'), backend('b')]), { now: () => now, health: known });
  assert.deepEqual(p.effectiveWeights(), { a: 2, b: (2 * 4) / 16 });
  // Built before health arrived, both backends served provisionally from the start: learning
  // that they are up is no transition, and a warm pool is not throttled.
  const q = new PoolRuntime(pool([backend('a'), backend('b')]), { now: () => now });
  q.setHealth(known);
  assert.deepEqual(q.effectiveWeights(), { a: 2, b: 2 });
});

test('without a health check, re-enabling or adding a backend ramps from now; start-up does not', () => {
  let now = 1_000_000;
  const spec = pool([backend('a'), backend('b')], { slowStartMs: 10_000 });
  delete spec.healthCheck;
  const p = new PoolRuntime(spec, { now: () => now });
  assert.deepEqual(p.effectiveWeights(), { a: 2, b: 2 });
  p.update({ ...spec, backends: [backend('a'), backend('b', { state: 'disabled' })] });
  now += 1000;
  p.update({ ...spec, backends: [backend('a'), backend('b'), backend('c')] });
  assert.deepEqual(p.effectiveWeights(), { a: 2, b: 2 / 16, c: 2 / 16 });
  now += 5000;
  assert.deepEqual(p.effectiveWeights(), { a: 2, b: 1, c: 1 });
  now += 5000;
  assert.deepEqual(p.effectiveWeights(), { a: 2, b: 2, c: 2 });
});

test('changing the scheduler mid-ramp neither restarts nor skips the ramp', () => {
  let now = 100_000;
  const p = new PoolRuntime(pool([backend('a'), backend('b')]), { now: () => now });
  p.setHealth({ a: health('up', 0), b: health('down', 0) });
  p.setHealth({ a: health('up', 0), b: health('up', now) });
  now += 8000;
  p.update(pool([backend('a'), backend('b')], { scheduler: 'least-conn' }));
  assert.deepEqual(p.effectiveWeights(), { a: 2, b: 1 });
  now += 8000;
  assert.deepEqual(p.effectiveWeights(), { a: 2, b: 2 });
});

test('slowStartMs 0 means full weight at once', () => {
  const now = 100_000;
  const p = new PoolRuntime(pool([backend('a'), backend('b')], { slowStartMs: 0 }), { now: () => now });
  p.setHealth({ a: health('up', 0), b: health('down', 0) });
  p.setHealth({ a: health('up', 0), b: health('up', now) });
  assert.deepEqual(p.effectiveWeights(), { a: 2, b: 2 });
});

test('ip-hash slow start rebuilds the table per step, not per pick, and shifts share gradually', () => {
  let now = 100_000;
  const p = new PoolRuntime(pool([backend('a'), backend('b')], { scheduler: 'ip-hash' }), { now: () => now });
  p.setHealth({ a: health('up', 0), b: health('down', 0) });
  p.setHealth({ a: health('up', 0), b: health('up', now) });
  const onB = (): number => {
    let n = 0;
    for (let i = 0; i < 2000; i++) {
      const l = p.acquire(`10.1.${i >> 8}.${i & 255}`);
      if (l?.backend === 'b') n++;
      l?.release('ok');
    }
    return n / 2000;
  };
  const early = onB();
  now += 8000;
  const mid = onB();
  now += 8000;
  const full = onB();
  console.log(`ip-hash slow start share on b: ${early.toFixed(3)} -> ${mid.toFixed(3)} -> ${full.toFixed(3)}`);
  assert.ok(early < 0.12, `early ${early}`); // 1/17 expected
  assert.ok(mid > 0.25 && mid < 0.42, `mid ${mid}`); // 1/3 expected
  assert.ok(full > 0.44 && full < 0.56, `full ${full}`);
});
