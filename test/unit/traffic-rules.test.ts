// Splits, stickiness and their configuration without sockets: the split chooser's proportions and
// pinning, the sticky picker over a real PoolRuntime, validation messages naming the field, and the
// replicated state's split references and purge numbering.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StateMachine } from '../../cluster/state/machine.js';
import { ConfigError } from '../../config/errors.js';
import { normalizeListener, normalizePool } from '../../config/normalize.js';
import { routeInput } from '../../config/route-traffic.js';
import { ListenerInput, PoolInput } from '../../config/schema.js';
import { compileValidator } from '../../config/validate.js';
import { SplitChooser } from '../../lb/http/split-chooser.js';
import { StickyPicker } from '../../lb/http/sticky-picker.js';
import { PoolRuntime } from '../../lb/pool.js';

const none = (): undefined => undefined;

test('split chooser: smooth weighted round-robin gives exact proportions; weight 0 takes nothing', () => {
  const c = new SplitChooser([{ pool: 'v1', weight: 95 }, { pool: 'v2', weight: 5 }], undefined);
  const t: Record<string, number> = {};
  for (let i = 0; i < 10_000; i++) {
    const p = c.choose(none, none).pool;
    t[p] = (t[p] ?? 0) + 1;
  }
  assert.deepEqual(t, { v1: 9500, v2: 500 });
  const bg = new SplitChooser([{ pool: 'blue', weight: 100 }, { pool: 'green', weight: 0 }], { cookie: 'c' });
  for (let i = 0; i < 100; i++) assert.equal(bg.choose(none, () => 'green').pool, 'blue', 'a cookie naming a weight-0 pool is not honoured');
});

test('split pinning: cookie names the pool (set when absent), header value names or hashes onto a pool', () => {
  const c = new SplitChooser([{ pool: 'v1', weight: 50 }, { pool: 'v2', weight: 50 }], { cookie: 'canary', header: 'x-user' });
  assert.deepEqual(c.choose(none, (n) => (n === 'canary' ? 'v2' : undefined)), { pool: 'v2' });
  const fresh = c.choose(none, none);
  assert.equal(fresh.pinCookie, fresh.pool);
  assert.deepEqual(c.choose((n) => (n === 'x-user' ? 'v1' : undefined), none), { pool: 'v1' });
  const spread = new Set<string>();
  for (let u = 0; u < 50; u++) {
    const h = (n: string): string | undefined => (n === 'x-user' ? `user-${u}` : undefined);
    const p = c.choose(h, none).pool;
    for (let k = 0; k < 5; k++) assert.equal(c.choose(h, none).pool, p, 'the same value lands on the same pool');
    spread.add(p);
  }
  assert.equal(spread.size, 2, '50 header values spread over both pools');
});

test('sticky picker: honours an eligible backend, re-picks an ineligible one and says so', () => {
  const spec = normalizePool(
    { name: 'app', stickiness: 'cookie', backends: [{ name: 'a', address: '127.0.0.1:1' }, { name: 'b', address: '127.0.0.1:2' }, { name: 'c', address: '127.0.0.1:3', maxConns: 1 }] },
    'p',
  );
  const pool = new PoolRuntime(spec, { now: () => 0, health: {} });
  assert.equal(pool.stickyCookie(), 'ballast_app');
  for (let i = 0; i < 20; i++) {
    const s = new StickyPicker(pool, 'b');
    const lease = s.acquire('127.0.0.1');
    assert.equal(lease?.backend, 'b');
    assert.equal(s.cookieUpdate(), undefined);
    lease?.release('ok');
  }
  const held = new StickyPicker(pool, 'c').acquire('127.0.0.1');
  const full = new StickyPicker(pool, 'c');
  const other = full.acquire('127.0.0.1');
  assert.notEqual(other?.backend, 'c', 'a backend at maxConns is not honoured');
  assert.equal(full.cookieUpdate(), other?.backend);
  held?.release('ok');
  other?.release('ok');
  pool.update({ ...spec, backends: spec.backends.map((b) => (b.name === 'b' ? { ...b, state: 'disabled' as const } : b)) });
  const moved = new StickyPicker(pool, 'b');
  const lease = moved.acquire('127.0.0.1');
  assert.ok(lease !== undefined && lease.backend !== 'b');
  assert.equal(moved.cookieUpdate(), lease.backend);
  assert.equal(new StickyPicker(pool, 'a').acquire('127.0.0.1', new Set(['a']))?.backend !== 'a', true, 'an excluded (already tried) backend is not forced');
});

function listenerError(input: unknown): string {
  try {
    normalizeListener(compileValidator(ListenerInput)(input, 'l'), 'l');
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  return 'accepted';
}

test('validation messages name the field', () => {
  const base = { name: 'web', mode: 'http', bind: '127.0.0.1:80' };
  const cases: [unknown, string][] = [
    [{ ...base, routes: [{ pathPrefix: '/' }] }, 'l.routes[0].pool: is required'],
    [{ ...base, routes: [{ pathPrefix: '/', pool: 'a', split: [{ pool: 'a', weight: 1 }] }] }, 'l.routes[0].pool: use either pool or split'],
    [{ ...base, routes: [{ pathPrefix: '/', split: [{ pool: 'a', weight: 0 }] }] }, 'l.routes[0].split: at least one pool'],
    [{ ...base, routes: [{ pathPrefix: '/', split: [{ pool: 'a', weight: 1 }, { pool: 'a', weight: 2 }] }] }, 'l.routes[0].split[1].pool: pool "a" appears twice'],
    [{ ...base, routes: [{ pathPrefix: '/', split: [{ pool: 'a', weight: 1001 }] }] }, 'l.routes[0].split[0].weight: must be an integer 0..1000'],
    [{ ...base, routes: [{ pathPrefix: '/', pool: 'a', pin: { cookie: 'x' } }] }, 'l.routes[0].pin: pins a client'],
    [{ ...base, routes: [{ pathPrefix: '/', split: [{ pool: 'a', weight: 1 }], pin: {} }] }, 'l.routes[0].pin: must set cookie or header'],
    [{ ...base, routes: [{ pathPrefix: '/', pool: 'a', cache: { maxBytes: 10_000, maxObjectBytes: 20_000 } }] }, 'l.routes[0].cache.maxObjectBytes: must not exceed maxBytes'],
    [{ ...base, routes: [{ pathPrefix: '/', pool: 'a', cache: { ttl: '1s' } }] }, 'l.routes[0].cache.ttl: unknown field'],
    [{ ...base, routes: [{ pathPrefix: '/', pool: 'a', cache: { defaultTtl: 'soon' } }] }, 'l.routes[0].cache.defaultTtl: must be a duration'],
  ];
  for (const [input, want] of cases) assert.ok(listenerError(input).startsWith(want), `${listenerError(input)} vs ${want}`);
  const poolErr = ((): string => {
    try {
      normalizePool(compileValidator(PoolInput)({ name: 'p', stickyCookie: 'x' }, 'p'), 'p');
    } catch (err) {
      return (err as Error).message;
    }
    return 'accepted';
  })();
  assert.ok(poolErr.startsWith('p.stickyCookie: names the cookie of stickiness: cookie'), poolErr);
  assert.throws(() => compileValidator(PoolInput)({ name: 'p', stickiness: 'sometimes' }, 'p'), /^ConfigError: p\.stickiness: must be one of: none, cookie$|p\.stickiness: must be one of: none, cookie/);
});

test('routes read back in input form and normalize to the same spec', () => {
  const spec = normalizeListener(
    { name: 'web', mode: 'http', bind: '127.0.0.1:80', routes: [{ pathPrefix: '/', name: 'site', split: [{ pool: 'a', weight: 9 }, { pool: 'b', weight: 1 }], pin: { header: 'X-Canary' }, cache: { defaultTtl: '5s' } }] },
    'l',
  );
  const back = normalizeListener({ name: 'web', mode: 'http', bind: '127.0.0.1:80', routes: spec.routes.map(routeInput) }, 'l');
  assert.deepEqual(back.routes, spec.routes);
  assert.equal(spec.routes[0]?.pool, 'a');
  assert.equal(spec.routes[0]?.pin?.header, 'x-canary');
});

test('state: split pools must exist and cannot be deleted while used; purges are numbered and bounded', () => {
  const m = new StateMachine();
  const pool = (name: string) => normalizePool({ name }, 'p');
  assert.equal(m.apply({ v: 1, op: 'pool.put', pool: pool('a') }).ok, true);
  const listener = normalizeListener({ name: 'web', mode: 'http', bind: '127.0.0.1:80', routes: [{ pathPrefix: '/', split: [{ pool: 'a', weight: 1 }, { pool: 'b', weight: 1 }] }] }, 'l');
  const refused = m.apply({ v: 1, op: 'listener.put', listener });
  assert.equal(refused.ok, false);
  assert.equal(refused.ok ? '' : refused.error.field, 'routes[0].split[1].pool');
  m.apply({ v: 1, op: 'pool.put', pool: pool('b') });
  assert.equal(m.apply({ v: 1, op: 'listener.put', listener }).ok, true);
  const del = m.apply({ v: 1, op: 'pool.delete', pool: 'b' });
  assert.equal(del.ok, false);
  for (let i = 0; i < 70; i++) assert.equal(m.apply({ v: 2, op: 'cache.purge', purge: { prefix: `/p${i}` } }).ok, true);
  const purges = m.dataPlane().cachePurges ?? [];
  assert.equal(purges.length, 64);
  assert.equal(purges.at(-1)?.seq, 70);
  assert.equal(m.apply({ v: 2, op: 'cache.purge', purge: { listener: 'nope' } }).ok, false);
  const copy = new StateMachine();
  copy.restore(m.snapshot());
  assert.deepEqual(copy.dataPlane(), m.dataPlane());
  assert.equal(copy.apply({ v: 2, op: 'cache.purge', purge: {} }).ok, true);
  assert.equal(copy.dataPlane().cachePurges?.at(-1)?.seq, 71, 'the purge generation continues after a restore');
});
