// The replicated state machine: commands apply deterministically; refused ones change nothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalizeListener, normalizePool } from '../../config/normalize.js';
import { StateMachine } from '../../cluster/state/machine.js';
import type { StateCommand } from '../../cluster/state/types.js';

const web = normalizePool({ name: 'web', backends: [{ name: 'a', address: '127.0.0.1:9101' }, { name: 'b', address: '127.0.0.1:9102' }] }, 'pool');
const api = normalizePool({ name: 'api', backends: [{ name: 'x', address: '127.0.0.1:9201' }] }, 'pool');
const front = normalizeListener({ name: 'front', mode: 'http', bind: '0.0.0.0:8080', routes: [{ pathPrefix: '/', pool: 'web' }] }, 'l');

function booted(): StateMachine {
  const m = new StateMachine();
  const r = m.apply({ v: 1, op: 'bootstrap', pools: [web, api], listeners: [front] });
  assert.ok(r.ok);
  return m;
}

test('bootstrap applies once, only to an empty state', () => {
  const m = booted();
  const again = m.apply({ v: 1, op: 'bootstrap', pools: [], listeners: [] });
  assert.ok(again.ok);
  assert.equal(m.dataPlane().pools.length, 2);
});

test('backend changes are applied and versioned; health starts unknown', () => {
  const m = booted();
  const v0 = m.dataPlane().version;
  assert.ok(m.apply({ v: 1, op: 'backend.patch', pool: 'web', backend: 'a', changes: { weight: 5, state: 'drain' } }).ok);
  const s = m.dataPlane();
  assert.equal(s.version, v0 + 1);
  assert.equal(s.pools[0]?.backends[0]?.weight, 5);
  assert.equal(s.pools[0]?.backends[0]?.state, 'drain');
  assert.equal(s.health['web']?.['a']?.status, 'unknown');
});

const REFUSED: [string, StateCommand, string, string][] = [
  ['patch of an unknown backend', { v: 1, op: 'backend.patch', pool: 'web', backend: 'zz', changes: { weight: 1 } }, 'STATE_ERR_NOT_FOUND', 'no backend named "zz" in pool "web"'],
  ['add to an unknown pool', { v: 1, op: 'backend.add', pool: 'nope', backend: web.backends[0]! }, 'STATE_ERR_NOT_FOUND', 'no pool named "nope"'],
  ['duplicate backend', { v: 1, op: 'backend.add', pool: 'web', backend: web.backends[0]! }, 'STATE_ERR_CONFLICT', 'backend "a" already exists in pool "web"'],
  ['delete a pool in use', { v: 1, op: 'pool.delete', pool: 'web' }, 'STATE_ERR_CONFLICT', 'pool "web" is used by listener "front"; change or delete that listener first'],
  ['listener to a missing pool', { v: 1, op: 'listener.put', listener: { ...front, name: 'other', bind: { host: '127.0.0.1', port: 9000 }, routes: [{ pathPrefix: '/', pool: 'ghost' }] } }, 'STATE_ERR_NOT_FOUND', 'listener "other" refers to pool "ghost", which does not exist; create it first'],
  ['listener on a taken port', { v: 1, op: 'listener.put', listener: { ...front, name: 'other', bind: { host: '127.0.0.1', port: 8080 } } }, 'STATE_ERR_CONFLICT', '127.0.0.1:8080 overlaps listener "front" (0.0.0.0:8080)'],
  ['health of an unknown backend', { v: 1, op: 'health.set', pool: 'web', backend: 'zz', health: { status: 'up', reason: 'ok', since: 1 } }, 'STATE_ERR_NOT_FOUND', 'no backend named "zz" in pool "web"'],
];

for (const [what, cmd, code, message] of REFUSED) {
  test(`refused, state unchanged: ${what}`, () => {
    const m = booted();
    const before = Buffer.from(m.snapshot()).toString();
    const r = m.apply(cmd);
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.error.code, code);
      assert.equal(r.error.message, message);
    }
    assert.equal(Buffer.from(m.snapshot()).toString(), before);
    assert.throws(() => m.check(cmd), { message });
  });
}

test('health survives a pool replace only for unchanged endpoints', () => {
  const m = booted();
  m.apply({ v: 1, op: 'health.set', pool: 'web', backend: 'a', health: { status: 'up', reason: 'ok', since: 5 } });
  m.apply({ v: 1, op: 'health.set', pool: 'web', backend: 'b', health: { status: 'up', reason: 'ok', since: 5 } });
  const moved = structuredClone(web);
  moved.backends[1]!.port = 9999;
  assert.ok(m.apply({ v: 1, op: 'pool.put', pool: moved }).ok);
  assert.equal(m.dataPlane().health['web']?.['a']?.status, 'up');
  assert.equal(m.dataPlane().health['web']?.['b']?.status, 'unknown');
});

test('snapshot and restore give an identical machine', () => {
  const m = booted();
  m.apply({ v: 1, op: 'backend.remove', pool: 'web', backend: 'b' });
  const copy = new StateMachine();
  copy.restore(m.snapshot());
  assert.deepEqual(copy.dataPlane(), m.dataPlane());
});
