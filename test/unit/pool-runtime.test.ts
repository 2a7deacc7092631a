// PoolRuntime: leases and counts, admin state, health, backups, maxConns, live updates, metrics.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { createDataPlaneMetrics } from '../../lb/metrics.js';
import { PoolRuntime } from '../../lb/pool.js';
import type { BackendHealth, BackendLease, BackendSpec, PoolSpec } from '../../lb/types.js';

function backend(name: string, extra: Partial<BackendSpec> = {}): BackendSpec {
  return { name, host: '127.0.0.1', port: 9100, weight: 1, state: 'active', backup: false, maxConns: 0, ...extra };
}
function pool(backends: BackendSpec[], extra: Partial<PoolSpec> = {}): PoolSpec {
  return { name: 'p', scheduler: 'round-robin', slowStartMs: 0, backends, ...extra };
}
const healthCheck: NonNullable<PoolSpec['healthCheck']> = {
  type: 'tcp', intervalMs: 1000, timeoutMs: 500, rise: 2, fall: 3, fastIntervalMs: 500, downIntervalMs: 2000,
  method: 'GET', path: '/', expectStatus: [{ from: 200, to: 399 }],
};
function health(status: BackendHealth['status'], since = 0): BackendHealth {
  return { status, reason: 'test', since };
}
/** Backends chosen by n acquire+release cycles. */
function spread(p: PoolRuntime, n: number, client = '10.0.0.1'): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const l = p.acquire(client);
    const k = l?.backend ?? 'none';
    out[k] = (out[k] ?? 0) + 1;
    l?.release('ok');
  }
  return out;
}
function active(p: PoolRuntime): Record<string, number> {
  return Object.fromEntries(p.describe().map((d) => [d.name, d.active]));
}

test('a lease names its backend, counts once, and a double release is ignored', async () => {
  const registry = new Registry();
  const metrics = createDataPlaneMetrics(registry);
  const p = new PoolRuntime(pool([backend('a', { host: '127.0.0.2', port: 9201 })]), { now: () => 0, metrics });
  const l = p.acquire('10.0.0.1') as BackendLease;
  assert.deepEqual([l.pool, l.backend, l.host, l.port], ['p', 'a', '127.0.0.2', 9201]);
  const l2 = p.acquire('10.0.0.1') as BackendLease;
  assert.deepEqual(active(p), { a: 2 });
  const gauge = async () => (await metrics.backendActiveConnections.get()).values.find((v) => v.labels.backend === 'a')?.value;
  assert.equal(await gauge(), 2);
  l.release('ok');
  l.release('ok');
  l.release('server-error');
  assert.deepEqual(active(p), { a: 1 });
  assert.equal(await gauge(), 1);
  l2.release('ok');
  assert.equal(p.activeConnections(), 0);
  assert.equal(await gauge(), 0);
  assert.match(await registry.metrics(), /ballast_backend_active_connections\{pool="p",backend="a"\} 0/);
});

test('drain and weight 0 take no new work but established work finishes; disabled takes none', () => {
  const spec = pool([backend('a'), backend('b')]);
  const p = new PoolRuntime(spec, { now: () => 0 });
  const held = [p.acquire('c'), p.acquire('c')];
  assert.deepEqual(active(p), { a: 1, b: 1 });
  p.update(pool([backend('a', { state: 'drain' }), backend('b')]));
  assert.deepEqual(spread(p, 6), { b: 6 });
  assert.deepEqual(active(p), { a: 1, b: 1 });
  p.update(pool([backend('a'), backend('b', { weight: 0 })]));
  assert.deepEqual(spread(p, 6), { a: 6 });
  p.update(pool([backend('a', { state: 'disabled' }), backend('b', { weight: 0 })]));
  assert.equal(p.acquire('c'), undefined);
  for (const l of held) l?.release('ok');
  assert.deepEqual(active(p), { a: 0, b: 0 });
  const d = p.describe();
  assert.deepEqual(d.map((x) => [x.name, x.eligible, x.effectiveWeight, x.state]), [['a', false, 0, 'disabled'], ['b', false, 0, 'active']]);
  p.update(spec);
  assert.deepEqual(spread(p, 4), { a: 2, b: 2 });
});

test('without a health check, health is ignored', () => {
  const p = new PoolRuntime(pool([backend('a'), backend('b')]), { now: () => 0 });
  p.setHealth({ a: health('down'), b: health('unknown') });
  assert.deepEqual(spread(p, 4), { a: 2, b: 2 });
  assert.equal(p.describe()[0]?.health, 'up');
});

test('with a health check: down is out; unknown serves only while no backend is known up', () => {
  const p = new PoolRuntime(pool([backend('a'), backend('b'), backend('c')], { healthCheck }), { now: () => 0 });
  // Cold start, nothing known: serve from everything (HAProxy assumes UP until checks fail).
  assert.deepEqual(spread(p, 6), { a: 2, b: 2, c: 2 });
  p.setHealth({ a: health('down') });
  assert.deepEqual(spread(p, 6), { b: 3, c: 3 });
  // Once one backend is proven up, the unproven ones wait for their checks.
  p.setHealth({ a: health('down'), b: health('up') });
  assert.deepEqual(spread(p, 6), { b: 6 });
  // A proven-up backend that is drained proves nothing about traffic: unknowns serve again.
  p.update(pool([backend('a'), backend('b', { state: 'drain' }), backend('c')], { healthCheck }));
  assert.deepEqual(spread(p, 4), { c: 4 });
  p.setHealth({ a: health('down'), b: health('down'), c: health('down') });
  assert.equal(p.acquire('x'), undefined);
  p.setHealth(undefined);
  assert.deepEqual(spread(p, 4), { a: 2, c: 2 });
});

test('backups serve only while no primary is eligible', () => {
  const p = new PoolRuntime(pool([backend('a'), backend('b'), backend('z', { backup: true })], { healthCheck }), { now: () => 0 });
  p.setHealth({ a: health('up'), b: health('up'), z: health('up') });
  assert.deepEqual(spread(p, 6), { a: 3, b: 3 });
  p.setHealth({ a: health('down'), b: health('up'), z: health('up') });
  assert.deepEqual(spread(p, 4), { b: 4 });
  p.setHealth({ a: health('down'), b: health('down'), z: health('up') });
  assert.deepEqual(spread(p, 4), { z: 4 });
  p.setHealth({ a: health('up'), b: health('down'), z: health('up') });
  assert.deepEqual(spread(p, 4), { a: 4 });
  // Primaries that are full or already tried do not spill over to the backup.
  assert.equal(p.acquire('x', new Set(['a'])), undefined);
});

test('a backend at maxConns is skipped; none with room gives undefined; room comes back on release', () => {
  const p = new PoolRuntime(pool([backend('a', { maxConns: 1 }), backend('b', { maxConns: 2 })]), { now: () => 0 });
  const leases = [p.acquire('c'), p.acquire('c'), p.acquire('c')];
  assert.deepEqual(leases.map((l) => l?.backend).sort(), ['a', 'b', 'b']);
  assert.equal(p.acquire('c'), undefined);
  assert.deepEqual(p.describe().map((d) => d.full), [true, true]);
  leases.find((l) => l?.backend === 'a')?.release('ok');
  assert.equal(p.acquire('c')?.backend, 'a');
});

test('ip-hash keeps a client on its backend and moves it to the next one only while that one is full', () => {
  const spec = pool([backend('a', { maxConns: 1 }), backend('b', { maxConns: 1 }), backend('c', { maxConns: 1 })], { scheduler: 'ip-hash' });
  const p = new PoolRuntime(spec, { now: () => 0 });
  const first = p.acquire('192.0.2.10') as BackendLease;
  const second = p.acquire('192.0.2.10') as BackendLease;
  assert.notEqual(second.backend, first.backend);
  first.release('ok');
  second.release('ok');
  for (let i = 0; i < 5; i++) {
    const l = p.acquire('192.0.2.10');
    assert.equal(l?.backend, first.backend);
    l?.release('ok');
  }
  // Retries: exclude walks on deterministically.
  const retry = p.acquire('192.0.2.10', new Set([first.backend]));
  assert.equal(retry?.backend, second.backend);
});

test('update swaps the scheduler live and keeps in-flight counts', () => {
  const p = new PoolRuntime(pool([backend('a'), backend('b'), backend('c')]), { now: () => 0 });
  const held: (BackendLease | undefined)[] = [];
  for (let i = 0; i < 6; i++) held.push(p.acquire('c'));
  for (const l of held.filter((x) => x?.backend !== 'a')) l?.release('ok');
  assert.deepEqual(active(p), { a: 2, b: 0, c: 0 });
  p.update(pool([backend('a'), backend('b'), backend('c')], { scheduler: 'least-conn' }));
  // least-conn knows a already has 2 in flight: the next 4 go to b and c.
  const next = [p.acquire('c'), p.acquire('c'), p.acquire('c'), p.acquire('c')].map((l) => l?.backend);
  assert.ok(!next.includes('a'), next.join(','));
  assert.deepEqual(active(p), { a: 2, b: 2, c: 2 });
  for (const l of held.filter((x) => x?.backend === 'a')) l?.release('ok');
  assert.deepEqual(active(p), { a: 0, b: 2, c: 2 });
});

test('a removed backend stays counted until its work ends; re-adding it keeps the count', async () => {
  const metrics = createDataPlaneMetrics(new Registry());
  const p = new PoolRuntime(pool([backend('a'), backend('b')], { scheduler: 'least-conn' }), { now: () => 0, metrics });
  const onA = [p.acquire('c'), p.acquire('c')].filter((l) => l?.backend === 'a');
  assert.equal(onA.length, 1);
  p.update(pool([backend('b')], { scheduler: 'least-conn' }));
  assert.deepEqual(spread(p, 3), { b: 3 });
  assert.deepEqual(p.describe().find((d) => d.name === 'a')?.removed, true);
  assert.deepEqual(Object.keys(p.effectiveWeights()), ['b']);
  p.update(pool([backend('a'), backend('b')], { scheduler: 'least-conn' }));
  assert.equal(active(p).a, 1);
  p.update(pool([backend('b')], { scheduler: 'least-conn' }));
  onA[0]?.release('ok');
  assert.deepEqual(p.describe().map((d) => d.name), ['b']);
  const labels = (await metrics.backendActiveConnections.get()).values.map((v) => v.labels.backend);
  assert.ok(!labels.includes('a'), labels.join(','));
});

test('switching a backend between primary and backup moves its counts', () => {
  const lc = { scheduler: 'least-conn' } as const;
  const p = new PoolRuntime(pool([backend('a'), backend('b'), backend('c')], lc), { now: () => 0 });
  const l = p.acquire('c');
  assert.equal(l?.backend, 'a');
  p.update(pool([backend('a', { backup: true }), backend('b', { weight: 0 }), backend('c', { backup: true })], lc));
  // Only backups are eligible now; the backup scheduler must know a holds one connection.
  const next = p.acquire('c');
  assert.equal(next?.backend, 'c');
  next?.release('ok');
  l?.release('ok');
  assert.deepEqual(active(p), { a: 0, b: 0, c: 0 });
  assert.deepEqual(spread(p, 4), { a: 2, c: 2 });
});

test('a retired pool takes no new work and lets leases finish', async () => {
  const metrics = createDataPlaneMetrics(new Registry());
  const p = new PoolRuntime(pool([backend('a'), backend('b')]), { now: () => 0, metrics });
  const l = p.acquire('c');
  spread(p, 3);
  p.retire();
  assert.equal(p.acquire('c'), undefined);
  assert.equal(p.activeConnections(), 1);
  l?.release('ok');
  assert.equal(p.activeConnections(), 0);
  assert.deepEqual((await metrics.backendActiveConnections.get()).values, []);
});

test('update refuses a different pool name', () => {
  const p = new PoolRuntime(pool([backend('a')]), { now: () => 0 });
  assert.throws(() => p.update({ ...pool([backend('a')]), name: 'other' }), TypeError);
});
