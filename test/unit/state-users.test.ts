// Users, API tokens, the session secret and the audit log in the replicated state machine: the
// invariants hold, refused commands change nothing, snapshots carry it all, workers never see it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalizeListener, normalizePool } from '../../config/normalize.js';
import { AUDIT_LIMIT } from '../../cluster/state/audit-log.js';
import { StateMachine } from '../../cluster/state/machine.js';
import type { Actor, StateCommand, TokenRecord, UserRecord } from '../../cluster/state/types.js';

const web = normalizePool({ name: 'web', backends: [{ name: 'a', address: '127.0.0.1:9101' }] }, 'pool');
const front = normalizeListener({ name: 'front', mode: 'http', bind: '127.0.0.1:8080', routes: [{ pathPrefix: '/', pool: 'web' }] }, 'l');
const alice: Actor = { user: 'root', via: 'session', from: '127.0.0.1' };

function user(name: string, role: UserRecord['role']): UserRecord {
  return { name, role, passwordHash: `hash-of-${name}`, createdAt: 1, updatedAt: 1 };
}

function token(id: string, owner: string, role: TokenRecord['role']): TokenRecord {
  return { id, name: `t-${id}`, user: owner, role, hash: `h-${id}`, createdAt: 2 };
}

function initialized(): StateMachine {
  const m = new StateMachine();
  assert.ok(m.apply({ v: 1, op: 'bootstrap', pools: [web], listeners: [front] }).ok);
  assert.ok(m.apply({ v: 2, op: 'access.init', secret: 'cluster-secret', admin: user('root', 'admin') }).ok);
  return m;
}

function text(m: StateMachine): string {
  return Buffer.from(m.snapshot()).toString();
}

test('access.init sets the secret and the first admin once', () => {
  const m = initialized();
  const view = m.accessView();
  assert.equal(view.sessionSecret(), 'cluster-secret');
  assert.equal(view.user('root')?.role, 'admin');
  const again = m.apply({ v: 2, op: 'access.init', secret: 'other', admin: user('evil', 'admin') });
  assert.equal(again.ok, false);
  assert.equal(m.accessView().sessionSecret(), 'cluster-secret');
  assert.equal(m.accessView().user('evil'), undefined);
});

test('users: add, update, remove; a removed user takes its tokens along', () => {
  const m = initialized();
  assert.ok(m.apply({ v: 2, op: 'user.add', user: user('bob', 'viewer') }).ok);
  assert.ok(m.apply({ v: 2, op: 'token.add', token: token('t1', 'bob', 'viewer') }).ok);
  assert.ok(m.apply({ v: 2, op: 'user.update', name: 'bob', role: 'admin', passwordHash: 'new', at: 9 }).ok);
  const bob = m.accessView().user('bob');
  assert.equal(bob?.role, 'admin');
  assert.equal(bob?.passwordHash, 'new');
  assert.equal(bob?.updatedAt, 9);
  assert.ok(m.apply({ v: 2, op: 'user.remove', name: 'bob' }).ok);
  assert.equal(m.accessView().user('bob'), undefined);
  assert.equal(m.accessView().token('t1'), undefined);
});

test('demoting a user lowers its admin tokens to viewer', () => {
  const m = initialized();
  assert.ok(m.apply({ v: 2, op: 'user.add', user: user('carol', 'admin') }).ok);
  assert.ok(m.apply({ v: 2, op: 'token.add', token: token('t2', 'carol', 'admin') }).ok);
  assert.ok(m.apply({ v: 2, op: 'user.update', name: 'carol', role: 'viewer', at: 3 }).ok);
  assert.equal(m.accessView().token('t2')?.role, 'viewer');
});

const REFUSED: [string, StateCommand, string, string][] = [
  ['a second user of the same name', { v: 2, op: 'user.add', user: user('root', 'viewer') }, 'STATE_ERR_CONFLICT', 'user "root" already exists'],
  ['update of an unknown user', { v: 2, op: 'user.update', name: 'ghost', role: 'viewer', at: 1 }, 'STATE_ERR_NOT_FOUND', 'no user named "ghost"'],
  ['removing the last admin', { v: 2, op: 'user.remove', name: 'root' }, 'STATE_ERR_CONFLICT', 'cannot remove "root": it is the last admin; make another user admin first'],
  ['demoting the last admin', { v: 2, op: 'user.update', name: 'root', role: 'viewer', at: 1 }, 'STATE_ERR_CONFLICT', 'cannot demote "root": it is the last admin; make another user admin first'],
  ['a token for an unknown user', { v: 2, op: 'token.add', token: token('x', 'ghost', 'viewer') }, 'STATE_ERR_NOT_FOUND', 'no user named "ghost"'],
  ['revoking an unknown token', { v: 2, op: 'token.revoke', id: 'nope' }, 'STATE_ERR_NOT_FOUND', 'no token with id "nope"'],
  ['a pool created twice', { v: 2, op: 'pool.create', pool: web }, 'STATE_ERR_CONFLICT', 'pool "web" already exists'],
  ['replacing a missing pool', { v: 2, op: 'pool.replace', pool: { ...web, name: 'ghost' } }, 'STATE_ERR_NOT_FOUND', 'no pool named "ghost"'],
  ['a listener created twice', { v: 2, op: 'listener.create', listener: front }, 'STATE_ERR_CONFLICT', 'listener "front" already exists'],
  ['replacing a missing listener', { v: 2, op: 'listener.replace', listener: { ...front, name: 'ghost' } }, 'STATE_ERR_NOT_FOUND', 'no listener named "ghost"'],
  ['a v2 op sent as v1', { v: 1, op: 'user.remove', name: 'root' } as unknown as StateCommand, 'STATE_ERR_INVALID', 'command "user.remove" belongs to version 2, not 1'],
  ['a v1 op sent as v2', { v: 2, op: 'pool.delete', pool: 'web' } as unknown as StateCommand, 'STATE_ERR_INVALID', 'command "pool.delete" belongs to version 1, not 2'],
  ['an unknown version', { v: 3, op: 'pool.delete', pool: 'web' } as unknown as StateCommand, 'STATE_ERR_INVALID', 'command version 3 is not supported by this release'],
  [
    'an audited command whose inner command is refused',
    { v: 2, op: 'audited', actor: alice, at: 5, cmd: { v: 1, op: 'backend.remove', pool: 'web', backend: 'zz' } },
    'STATE_ERR_NOT_FOUND',
    'no backend named "zz" in pool "web"',
  ],
  [
    'an audited command wrapping another',
    { v: 2, op: 'audited', actor: alice, at: 5, cmd: { v: 2, op: 'audited', actor: alice, at: 5, cmd: { v: 1, op: 'pool.delete', pool: 'web' } } } as unknown as StateCommand,
    'STATE_ERR_INVALID',
    'an audited command cannot wrap another',
  ],
];

for (const [what, cmd, code, message] of REFUSED) {
  test(`refused, state unchanged: ${what}`, () => {
    const m = initialized();
    const before = text(m);
    const r = m.apply(cmd);
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.error.code, code);
      assert.equal(r.error.message, message);
    }
    assert.equal(text(m), before);
  });
}

test('a token cannot outrank its user', () => {
  const m = initialized();
  assert.ok(m.apply({ v: 2, op: 'user.add', user: user('dave', 'viewer') }).ok);
  const r = m.apply({ v: 2, op: 'token.add', token: token('t3', 'dave', 'admin') });
  assert.equal(r.ok, false);
  if (!r.ok) assert.equal(r.error.field, 'role');
});

test('audited commands apply and record who, what, when, from where and the version made', () => {
  const m = initialized();
  const r = m.apply({ v: 2, op: 'audited', actor: alice, at: 1234, cmd: { v: 1, op: 'backend.patch', pool: 'web', backend: 'a', changes: { weight: 7, state: 'drain' } } });
  assert.ok(r.ok);
  assert.equal(m.dataPlane().pools[0]?.backends[0]?.weight, 7);
  const [entry] = m.accessView().audit({ limit: 10 });
  assert.deepEqual(entry, {
    seq: 1,
    at: 1234,
    user: 'root',
    via: 'session',
    from: '127.0.0.1',
    action: 'backend.patch',
    target: 'web/a',
    detail: 'weight=7 state=drain',
    version: r.version,
  });
});

test('the audit log never holds password hashes, and keeps only the newest entries', () => {
  const m = initialized();
  assert.ok(m.apply({ v: 2, op: 'audited', actor: alice, at: 1, cmd: { v: 2, op: 'user.add', user: user('erin', 'viewer') } }).ok);
  assert.ok(m.apply({ v: 2, op: 'audited', actor: alice, at: 2, cmd: { v: 2, op: 'user.update', name: 'erin', passwordHash: 'secret-hash', at: 2 } }).ok);
  const entries = JSON.stringify(m.accessView().audit({ limit: 10 }));
  assert.doesNotMatch(entries, /hash-of-erin|secret-hash/);
  assert.match(entries, /password=changed/);

  for (let i = 0; i < AUDIT_LIMIT + 20; i++) {
    const r = m.apply({ v: 2, op: 'audited', actor: alice, at: i, cmd: { v: 1, op: 'backend.patch', pool: 'web', backend: 'a', changes: { weight: i % 256 } } });
    assert.ok(r.ok);
  }
  const all = m.accessView().audit({ limit: 5000 });
  assert.equal(all.length, AUDIT_LIMIT);
  assert.equal(all[0]?.seq, AUDIT_LIMIT + 22);
  assert.equal(all.at(-1)?.seq, 23);
  const page = m.accessView().audit({ limit: 3, before: 100 });
  assert.deepEqual(page.map((e) => e.seq), [99, 98, 97]);
});

test('snapshots carry users, tokens, secret and audit; a v1 snapshot restores with none', () => {
  const m = initialized();
  m.apply({ v: 2, op: 'audited', actor: alice, at: 1, cmd: { v: 2, op: 'token.add', token: token('t9', 'root', 'viewer') } });
  const copy = new StateMachine();
  copy.restore(m.snapshot());
  assert.equal(text(copy), text(m));
  assert.equal(copy.accessView().token('t9')?.hash, 'h-t9');
  assert.equal(copy.accessView().audit({ limit: 5 }).length, 1);

  const v1 = { v: 1, version: 4, listeners: [], pools: [web], health: {} };
  const old = new StateMachine();
  old.restore(new TextEncoder().encode(JSON.stringify(v1)));
  assert.equal(old.accessView().sessionSecret(), null);
  assert.deepEqual(old.accessView().users(), []);
  assert.equal(old.dataPlane().version, 4);
});

test('the data-plane state handed to workers holds no access data', () => {
  const m = initialized();
  m.apply({ v: 2, op: 'token.add', token: token('t4', 'root', 'admin') });
  const json = JSON.stringify(m.dataPlane());
  assert.doesNotMatch(json, /cluster-secret|hash-of-root|h-t4/);
});

test('access reads return copies: changing them changes nothing', () => {
  const m = initialized();
  const users = m.accessView().users();
  users[0]!.role = 'viewer';
  assert.equal(m.accessView().user('root')?.role, 'admin');
});
