// PoolRuntime passive outlier detection: consecutive failures eject a backend for ejectMs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PoolRuntime } from '../../lb/pool.js';
import type { BackendHealth, BackendLease, BackendSpec, PoolSpec } from '../../lb/types.js';

function backend(name: string, extra: Partial<BackendSpec> = {}): BackendSpec {
  return { name, host: '127.0.0.1', port: 9100, weight: 1, state: 'active', backup: false, maxConns: 0, ...extra };
}
function pool(backends: BackendSpec[], extra: Partial<PoolSpec> = {}): PoolSpec {
  return { name: 'p', scheduler: 'round-robin', slowStartMs: 0, outlier: { consecutiveFailures: 3, ejectMs: 10_000 }, backends, ...extra };
}
const healthCheck: NonNullable<PoolSpec['healthCheck']> = {
  type: 'tcp', intervalMs: 1000, timeoutMs: 500, rise: 2, fall: 3, fastIntervalMs: 500, downIntervalMs: 2000,
  method: 'GET', path: '/', expectStatus: [{ from: 200, to: 399 }],
};
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
/** Acquire on `name` (excluding the others) and release with `outcome`. */
function hit(p: PoolRuntime, name: string, outcome: Parameters<BackendLease['release']>[0]): void {
  const others = new Set(p.describe().map((d) => d.name).filter((n) => n !== name));
  const l = p.acquire('10.0.0.1', others);
  assert.equal(l?.backend, name);
  l?.release(outcome);
}

test('consecutive failures eject for ejectMs, then the backend returns', () => {
  let now = 50_000;
  const p = new PoolRuntime(pool([backend('a'), backend('b')]), { now: () => now });
  hit(p, 'a', 'connect-failure');
  hit(p, 'a', 'server-error');
  assert.deepEqual(p.ejected(), []);
  assert.equal(p.describe()[0]?.consecutiveFailures, 2);
  hit(p, 'a', 'connect-failure');
  assert.deepEqual(p.ejected(), ['a']);
  assert.equal(p.describe()[0]?.ejectedUntil, 60_000);
  assert.equal(p.describe()[0]?.eligible, false);
  assert.deepEqual(spread(p, 4), { b: 4 });
  now += 9999;
  assert.deepEqual(spread(p, 4), { b: 4 });
  now += 1;
  assert.deepEqual(spread(p, 4), { a: 2, b: 2 });
  assert.deepEqual(p.ejected(), []);
  assert.equal(p.describe()[0]?.ejectedUntil, null);
});

test('an ok outcome resets the count', () => {
  const p = new PoolRuntime(pool([backend('a'), backend('b')]), { now: () => 0 });
  hit(p, 'a', 'connect-failure');
  hit(p, 'a', 'connect-failure');
  hit(p, 'a', 'ok');
  hit(p, 'a', 'server-error');
  hit(p, 'a', 'server-error');
  assert.deepEqual(p.ejected(), []);
  hit(p, 'a', 'server-error');
  assert.deepEqual(p.ejected(), ['a']);
});

test('failures interleaved with in-flight work count at release time, and a double release counts once', () => {
  const p = new PoolRuntime(pool([backend('a'), backend('b')]), { now: () => 0 });
  const only = new Set(['b']);
  const held = [p.acquire('x', only), p.acquire('x', only), p.acquire('x', only)];
  const first = held[0] as BackendLease;
  first.release('connect-failure');
  first.release('connect-failure');
  first.release('connect-failure');
  assert.equal(p.describe()[0]?.consecutiveFailures, 1);
  held[1]?.release('connect-failure');
  held[2]?.release('connect-failure');
  assert.deepEqual(p.ejected(), ['a']);
  assert.equal(p.activeConnections(), 0);
});

test('the last eligible backend is never ejected; it is once another becomes eligible', () => {
  const spec = pool([backend('a'), backend('b', { state: 'disabled' })]);
  const p = new PoolRuntime(spec, { now: () => 0 });
  for (let i = 0; i < 5; i++) hit(p, 'a', 'connect-failure');
  assert.deepEqual(p.ejected(), []);
  assert.equal(p.describe()[0]?.eligible, true);
  assert.equal(p.describe()[0]?.consecutiveFailures, 5);
  p.update(pool([backend('a'), backend('b')]));
  hit(p, 'a', 'connect-failure');
  assert.deepEqual(p.ejected(), ['a']);
});

test('a health transition after the ejection supersedes it; an older one does not', () => {
  let now = 100_000;
  const p = new PoolRuntime(pool([backend('a'), backend('b')], { healthCheck }), { now: () => now });
  p.setHealth({ a: health('up', 1000), b: health('up', 1000) });
  for (let i = 0; i < 3; i++) hit(p, 'a', 'server-error');
  assert.deepEqual(p.ejected(), ['a']);
  now += 1000;
  p.setHealth({ a: health('up', 1000), b: health('up', 1000) });
  assert.deepEqual(p.ejected(), ['a']);
  p.setHealth({ a: health('down', now), b: health('up', 1000) });
  assert.deepEqual(p.ejected(), []);
  assert.deepEqual(spread(p, 2), { b: 2 });
  now += 1000;
  p.setHealth({ a: health('up', now), b: health('up', 1000) });
  assert.deepEqual(spread(p, 2), { a: 1, b: 1 });
});

test('without an outlier spec failures eject nothing; removing the spec lifts ejections', () => {
  const noOutlier = pool([backend('a'), backend('b')]);
  delete noOutlier.outlier;
  const p = new PoolRuntime(noOutlier, { now: () => 0 });
  for (let i = 0; i < 10; i++) hit(p, 'a', 'connect-failure');
  assert.deepEqual(p.ejected(), []);
  const q = new PoolRuntime(pool([backend('a'), backend('b')]), { now: () => 0 });
  for (let i = 0; i < 3; i++) hit(q, 'a', 'connect-failure');
  assert.deepEqual(q.ejected(), ['a']);
  q.update(noOutlier);
  assert.deepEqual(q.ejected(), []);
  assert.deepEqual(spread(q, 2), { a: 1, b: 1 });
});

test('a returning backend slow-starts from the end of its ejection', () => {
  let now = 0;
  const p = new PoolRuntime(pool([backend('a', { weight: 4 }), backend('b', { weight: 4 })], { slowStartMs: 16_000 }), { now: () => now });
  for (let i = 0; i < 3; i++) hit(p, 'a', 'connect-failure');
  now = 10_000;
  assert.deepEqual(p.effectiveWeights(), { a: 4 / 16, b: 4 });
  now = 18_000;
  assert.deepEqual(p.effectiveWeights(), { a: 2, b: 4 });
});
