// Every REST route through app.inject() over a real persisted state store: each answer is checked
// against the schema the OpenAPI document publishes for it, and the test fails if the document
// lists an operation no test here called.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Ajv, type ValidateFunction } from 'ajv';
import type { LightMyRequestResponse } from 'fastify';
import { AUDIT_LIMIT } from '../../cluster/state/audit-log.js';
import { createTestPki } from '../support/test-pki.js';
import { ADMIN, asAdmin, asViewer, basic, webFixture, type WebFixture } from './web-fixture.js';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
interface Operation {
  responses: Record<string, { content?: Record<string, { schema: object }> }>;
  parameters: { name: string; in: string }[];
}
interface OpenApi {
  openapi: string;
  paths: Record<string, Partial<Record<Lowercase<Method>, Operation>>>;
  components: { schemas: { Error: object } };
}

let fx: WebFixture;
let doc: OpenApi;
const ajv = new Ajv({ strict: false, allErrors: true });
const validators = new Map<string, ValidateFunction>();
const called = new Set<string>();

before(async () => {
  fx = await webFixture();
  const res = await fx.app.inject({ method: 'GET', url: '/api/v1/openapi.json', headers: asViewer });
  assert.equal(res.statusCode, 200);
  doc = res.json();
});
after(() => fx.close());

/** Call an operation by its OpenAPI path template and check the answer against the document. */
async function call(method: Method, template: string, opts: { params?: Record<string, string>; body?: unknown; headers?: Record<string, string>; query?: string } = {}): Promise<LightMyRequestResponse> {
  const url = template.replace(/\{(\w+)\}/g, (_m, name: string) => encodeURIComponent(opts.params?.[name] ?? `missing-${name}`)) + (opts.query ?? '');
  const res = await fx.app.inject({ method, url, headers: opts.headers ?? asAdmin, ...(opts.body === undefined ? {} : { payload: opts.body as object }) });
  const op = doc.paths[template]?.[method.toLowerCase() as Lowercase<Method>];
  assert.ok(op, `${method} ${template} is not in the OpenAPI document`);
  called.add(`${method} ${template}`);
  const documented = op.responses[String(res.statusCode)];
  assert.ok(documented, `${method} ${url} answered ${res.statusCode}, which the document does not list: ${res.body}`);
  const media = documented.content ? Object.keys(documented.content)[0]! : null;
  if (media?.startsWith('application/json')) {
    const key = `${method} ${template} ${res.statusCode}`;
    const schema = documented.content![media]!.schema as { $ref?: string };
    let validate = validators.get(key);
    if (!validate) {
      validate = ajv.compile(schema.$ref ? doc.components.schemas.Error : schema);
      validators.set(key, validate);
    }
    assert.ok(validate(res.json()), `${key} does not match its documented schema: ${ajv.errorsText(validate.errors)}\n${res.body}`);
  }
  return res;
}

test('probes answer without credentials; readyz keeps its body', async () => {
  const h = await call('GET', '/healthz', { headers: {} });
  assert.deepEqual(h.json(), { status: 'ok' });
  const r = await call('GET', '/readyz', { headers: {} });
  assert.deepEqual(r.json(), { ready: true, reason: 'serving', listeners: { front: 18080 }, node: { id: 'n1', role: 'leader', leader: 'n1', vipHeld: false } });
});

test('session: log in, read it back with its CSRF token, log out', async () => {
  const login = await call('POST', '/api/v1/session', { headers: {}, body: ADMIN });
  assert.equal(login.statusCode, 200);
  const body = login.json<{ user: string; role: string; csrfToken: string; expiresAt: number }>();
  assert.equal(body.user, ADMIN.user);
  assert.equal(body.role, 'admin');
  const setCookie = String(login.headers['set-cookie']);
  assert.match(setCookie, /^ballast_session=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
  const cookie = setCookie.split(';')[0]!;

  const me = await call('GET', '/api/v1/session', { headers: { cookie } });
  assert.equal(me.json<{ csrfToken: string }>().csrfToken, body.csrfToken);
  assert.equal(me.json<{ via: string }>().via, 'session');

  const out = await call('DELETE', '/api/v1/session', { headers: { cookie, 'x-csrf-token': body.csrfToken } });
  assert.equal(out.statusCode, 204);
  assert.match(String(out.headers['set-cookie']), /^ballast_session=; .*Max-Age=0/);
});

test('cluster: reads say which node answered at which version; a one-node cluster refuses a transfer', async () => {
  const c = await call('GET', '/api/v1/cluster');
  const body = c.json<{ node: string; leader: string; version: number; commitIndex: number; nodes: unknown[] }>();
  assert.equal(body.node, 'n1');
  assert.equal(body.leader, 'n1');
  assert.equal(body.version, fx.store.read().version);
  assert.equal(body.commitIndex, fx.store.read().version);
  assert.equal(body.nodes.length, 1);

  // A node without peers reports itself alone (web-nodes.test.ts covers peers' reports).
  const nodes = await call('GET', '/api/v1/nodes');
  assert.equal(nodes.statusCode, 200, nodes.body);
  assert.deepEqual(nodes.json<{ nodes: { id: string; status: string }[] }>().nodes.map((n) => [n.id, n.status]), [['n1', 'self']]);

  const t = await call('POST', '/api/v1/cluster/transfer-leadership', { body: {} });
  assert.equal(t.statusCode, 409);
  assert.equal(t.json<{ error: { message: string } }>().error.message, 'single-node cluster: nothing to transfer to');
});

interface BackendBody {
  name: string;
  address: string;
  weight: number;
  state: string;
  health: { status: string; reason: string };
  active: number | null;
  eligible: boolean | null;
}
interface PoolBody {
  name: string;
  scheduler: string;
  healthCheck?: Record<string, unknown>;
  backends: BackendBody[];
}

test('pools: list with health per backend; live fields are null without workers', async () => {
  const res = await call('GET', '/api/v1/pools', { headers: asViewer });
  const body = res.json<{ node: string; version: number; pools: PoolBody[] }>();
  assert.equal(body.node, 'n1');
  const web = body.pools.find((p) => p.name === 'web')!;
  assert.equal(web.scheduler, 'least-conn');
  assert.deepEqual(web.healthCheck, { type: 'http', interval: '2s', timeout: '1s', rise: 2, fall: 3, fastInterval: '2s', downInterval: '2s', method: 'GET', path: '/health', expectStatus: '200-299' });
  assert.deepEqual(web.backends.map((b) => [b.name, b.address, b.weight, b.health.status, b.health.reason, b.active, b.eligible]), [
    ['a', '127.0.0.1:9101', 3, 'unknown', 'not checked yet', null, null],
    ['b', '127.0.0.1:9102', 1, 'unknown', 'not checked yet', null, null],
  ]);
  const api = body.pools.find((p) => p.name === 'api')!;
  assert.equal(api.backends[0]?.health.reason, 'the pool has no health check; traffic treats it as up');
});

test('pools: create, read, replace with what GET returned (a no-op), delete', async () => {
  const created = await call('POST', '/api/v1/pools', { body: { name: 'cache', scheduler: 'ip-hash', slowStart: '10s', backends: [{ name: 'c1', address: 'localhost:6379' }] } });
  assert.equal(created.statusCode, 201);
  assert.equal(created.json<{ pool: PoolBody }>().pool.scheduler, 'ip-hash');

  const got = await call('GET', '/api/v1/pools/{pool}', { params: { pool: 'cache' } });
  const pool = got.json<{ pool: PoolBody & Record<string, unknown> }>().pool;
  const specBefore = JSON.stringify(fx.store.read().pools.find((p) => p.name === 'cache'));
  // Read-back is input-shaped: drop what is observed and it is a valid body for PUT.
  const input = { ...pool, backends: pool.backends.map(({ health: _h, active: _a, eligible: _e, ...b }) => b) };
  const put = await call('PUT', '/api/v1/pools/{pool}', { params: { pool: 'cache' }, body: input });
  assert.equal(put.statusCode, 200, put.body);
  assert.equal(JSON.stringify(fx.store.read().pools.find((p) => p.name === 'cache')), specBefore);

  const del = await call('DELETE', '/api/v1/pools/{pool}', { params: { pool: 'cache' } });
  assert.equal(del.statusCode, 200);
  assert.equal(del.json<{ version: number }>().version, fx.store.read().version);
  assert.equal(fx.store.read().pools.some((p) => p.name === 'cache'), false);
});

test('backends: add, read, weight and drain, remove', async () => {
  const add = await call('POST', '/api/v1/pools/{pool}/backends', { params: { pool: 'web' }, body: { name: 'c', address: '127.0.0.1:9103', weight: 2 } });
  assert.equal(add.statusCode, 201);
  assert.equal(add.json<{ backend: BackendBody }>().backend.health.status, 'unknown');

  const one = await call('GET', '/api/v1/pools/{pool}/backends/{backend}', { params: { pool: 'web', backend: 'c' }, headers: asViewer });
  assert.equal(one.json<{ pool: string; backend: BackendBody }>().backend.weight, 2);

  const patch = await call('PATCH', '/api/v1/pools/{pool}/backends/{backend}', { params: { pool: 'web', backend: 'c' }, body: { weight: 7, state: 'drain' } });
  assert.equal(patch.statusCode, 200);
  const spec = fx.store.read().pools.find((p) => p.name === 'web')?.backends.find((b) => b.name === 'c');
  assert.equal(spec?.weight, 7);
  assert.equal(spec?.state, 'drain');

  const del = await call('DELETE', '/api/v1/pools/{pool}/backends/{backend}', { params: { pool: 'web', backend: 'c' } });
  assert.equal(del.statusCode, 200);
  assert.equal(fx.store.read().pools.find((p) => p.name === 'web')?.backends.some((b) => b.name === 'c'), false);
});

test('listeners: list, create, read, replace, delete', async () => {
  const list = await call('GET', '/api/v1/listeners', { headers: asViewer });
  assert.deepEqual(
    list.json<{ listeners: { name: string; bind: string; port: number | null }[] }>().listeners.map((l) => [l.name, l.bind, l.port]),
    [['front', '127.0.0.1:18080', 18080]],
  );
  const created = await call('POST', '/api/v1/listeners', { body: { name: 'db', mode: 'tcp', bind: '127.0.0.1:15432', pool: 'api' } });
  assert.equal(created.statusCode, 201);
  assert.equal(created.json<{ listener: { port: number | null } }>().listener.port, null);
  const one = await call('GET', '/api/v1/listeners/{listener}', { params: { listener: 'db' } });
  assert.equal(one.json<{ listener: { timeouts: { idle: string } } }>().listener.timeouts.idle, '1m');
  const put = await call('PUT', '/api/v1/listeners/{listener}', { params: { listener: 'db' }, body: { name: 'db', mode: 'tcp', bind: '127.0.0.1:15432', pool: 'api', maxConns: 100 } });
  assert.equal(put.statusCode, 200);
  assert.equal(fx.store.read().listeners.find((l) => l.name === 'db')?.maxConns, 100);
  const edge = await call('PUT', '/api/v1/listeners/{listener}/edge', { params: { listener: 'db' }, body: { maxConnsPerIp: 5 } });
  assert.equal(edge.statusCode, 200);
  assert.equal(fx.store.read().listeners.find((l) => l.name === 'db')?.maxConnsPerIp, 5);
  const del = await call('DELETE', '/api/v1/listeners/{listener}', { params: { listener: 'db' } });
  assert.equal(del.statusCode, 200);
  assert.equal(fx.store.read().listeners.length, 1);
});

test('users: list, create, change role and password, delete; no hash ever leaves', async () => {
  const list = await call('GET', '/api/v1/users', { headers: asViewer });
  assert.deepEqual(list.json<{ users: { name: string; role: string }[] }>().users.map((u) => [u.name, u.role]), [['root', 'admin'], ['watcher', 'viewer']]);
  assert.doesNotMatch(list.body, /scrypt/);

  const created = await call('POST', '/api/v1/users', { body: { name: 'ops', role: 'viewer', password: 'ops-password-1' } });
  assert.equal(created.statusCode, 201);
  assert.doesNotMatch(created.body, /scrypt|ops-password/);

  const promoted = await call('PATCH', '/api/v1/users/{user}', { params: { user: 'ops' }, body: { role: 'admin', password: 'ops-password-2' } });
  assert.equal(promoted.json<{ user: { role: string } }>().user.role, 'admin');
  const asOps = await fx.app.inject({ method: 'GET', url: '/api/v1/session', headers: basic('ops', 'ops-password-2') });
  assert.equal(asOps.json<{ role: string }>().role, 'admin');

  const del = await call('DELETE', '/api/v1/users/{user}', { params: { user: 'ops' } });
  assert.equal(del.statusCode, 200);
  assert.equal(fx.store.readAccess().user('ops'), undefined);
});

test('tokens: created once with its secret, usable as bearer, listed without it, revoked', async () => {
  const created = await call('POST', '/api/v1/tokens', { body: { name: 'prometheus', role: 'viewer' } });
  assert.equal(created.statusCode, 201);
  const { token, secret } = created.json<{ token: { id: string; role: string; user: string }; secret: string }>();
  assert.match(secret, /^blt_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
  assert.equal(token.role, 'viewer');
  assert.equal(token.user, ADMIN.user);
  assert.doesNotMatch(fx.stateFile(), new RegExp(secret.slice(-43)));

  const bearer = { authorization: `Bearer ${secret}` };
  assert.equal((await fx.app.inject({ method: 'GET', url: '/api/v1/pools', headers: bearer })).statusCode, 200);
  assert.equal((await fx.app.inject({ method: 'DELETE', url: '/api/v1/pools/api', headers: bearer })).statusCode, 403);

  const list = await call('GET', '/api/v1/tokens', { headers: asViewer });
  assert.deepEqual(list.json<{ tokens: { id: string }[] }>().tokens.map((t) => t.id), [token.id]);
  assert.doesNotMatch(list.body, new RegExp(secret.slice(-43)));

  const del = await call('DELETE', '/api/v1/tokens/{id}', { params: { id: token.id } });
  assert.equal(del.statusCode, 200);
  assert.equal((await fx.app.inject({ method: 'GET', url: '/api/v1/pools', headers: bearer })).statusCode, 401);
});

test('audit: every change so far, newest first, with who, how, from where and the version made', async () => {
  const res = await call('GET', '/api/v1/audit', { headers: asViewer });
  const entries = res.json<{ entries: { seq: number; user: string; via: string; from: string; action: string; target: string; version: number }[] }>().entries;
  const actions = entries.map((e) => `${e.action} ${e.target}`);
  for (const expected of ['pool.create cache', 'pool.replace cache', 'pool.delete cache', 'backend.add web/c', 'backend.patch web/c', 'backend.remove web/c', 'listener.create db', 'user.add ops', 'user.update ops', 'token.revoke']) {
    assert.ok(actions.some((a) => a.startsWith(expected)), `audit lacks "${expected}": ${actions.join(', ')}`);
  }
  assert.ok(entries.every((e) => e.user === ADMIN.user && e.via === 'basic' && e.from === '127.0.0.1'));
  assert.deepEqual(entries.map((e) => e.seq), [...entries.map((e) => e.seq)].sort((a, b) => b - a));

  const page = await call('GET', '/api/v1/audit', { query: `?limit=2&before=${entries[0]!.seq}` });
  assert.deepEqual(page.json<{ entries: { seq: number }[] }>().entries.map((e) => e.seq), [entries[1]!.seq, entries[2]!.seq]);
  assert.ok(entries.length < AUDIT_LIMIT);
});

test('changes: a long poll answers at once when behind, on the next commit when current, and when its wait runs out', async () => {
  const v = fx.store.read().version;
  const start = await call('GET', '/api/v1/changes', { headers: asViewer });
  assert.deepEqual(start.json(), { node: 'n1', version: v, commitIndex: v, changed: false });
  const behind = await call('GET', '/api/v1/changes', { headers: asViewer, query: `?after=${v - 1}` });
  assert.equal(behind.statusCode, 200);
  assert.deepEqual(behind.json(), { node: 'n1', version: v, commitIndex: v, changed: true });

  // Current: held open until a write commits, then answered with the new version.
  const started = Date.now();
  const pending = call('GET', '/api/v1/changes', { headers: asViewer, query: `?after=${v}&wait=30` });
  let settled = false;
  void pending.then(() => (settled = true));
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(settled, false, 'answered before any change');
  const write = await call('PATCH', '/api/v1/pools/{pool}/backends/{backend}', { params: { pool: 'web', backend: 'b' }, body: { weight: 7 } });
  assert.equal(write.statusCode, 200);
  const woke = await pending;
  assert.equal(woke.json<{ changed: boolean; version: number }>().changed, true);
  assert.equal(woke.json<{ version: number }>().version, v + 1);
  assert.ok(Date.now() - started < 10_000);

  // Nothing changes: the wait runs out (1 s) and says so.
  const idle = await call('GET', '/api/v1/changes', { headers: asViewer, query: `?after=${v + 1}&wait=1` });
  assert.deepEqual(idle.json(), { node: 'n1', version: v + 1, commitIndex: v + 1, changed: false });
  const bad = await call('GET', '/api/v1/changes', { query: '?after=-1' });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json<{ error: { field: string } }>().error.field, 'after');
});

test('metrics: raft and VIP gauges, process metrics, node registry', async () => {
  const res = await call('GET', '/metrics', { headers: asViewer });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /^text\/plain/);
  assert.match(res.body, /^ballast_raft_term 1$/m);
  assert.match(res.body, /^ballast_raft_is_leader 1$/m);
  assert.match(res.body, new RegExp(`^ballast_raft_commit_index ${fx.store.read().version}$`, 'm'));
  assert.match(res.body, /^ballast_vip_held 0$/m);
  assert.match(res.body, /^process_cpu_user_seconds_total /m);
});

test('cache: DELETE purges through the replicated state (numbered), validates its query, needs admin', async () => {
  const before = fx.store.read().version;
  const r = await call('DELETE', '/api/v1/cache', { query: '?listener=front&prefix=/img/' });
  assert.equal(r.statusCode, 200, r.body);
  const seq = r.json<{ purge: { seq: number } }>().purge.seq;
  assert.ok(seq >= 1);
  assert.ok(fx.store.read().version > before);
  assert.deepEqual(fx.store.read().cachePurges?.at(-1), { seq, listener: 'front', prefix: '/img/' });
  const all = await call('DELETE', '/api/v1/cache');
  assert.equal(all.json<{ purge: { seq: number } }>().purge.seq, seq + 1);
  const bad = await call('DELETE', '/api/v1/cache', { query: '?prefix=img' });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json<{ error: { field: string } }>().error.field, 'prefix');
  const missing = await call('DELETE', '/api/v1/cache', { query: '?listener=nope' });
  assert.equal(missing.statusCode, 400);
  assert.equal(missing.json<{ error: { field: string } }>().error.field, 'listener');
  const viewer = await call('DELETE', '/api/v1/cache', { headers: asViewer });
  assert.equal(viewer.statusCode, 403);
});

test('certificates: upload checked and sealed, read back with expiry and no key, replaced, refused while in use, deleted', async () => {
  const pki = createTestPki();
  try {
    const a = pki.leaf('a', ['a.example.test']);
    const b = pki.leaf('b', ['a.example.test'], { notAfter: new Date(Date.now() + 5 * 86_400_000) });
    const bad = await call('POST', '/api/v1/certificates', { body: { name: 'site', cert: a.chain, key: b.key } });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json<{ error: { field: string } }>().error.field, 'key');
    assert.equal((await call('POST', '/api/v1/certificates', { headers: asViewer, body: { name: 'site', cert: a.chain, key: a.key } })).statusCode, 403);
    const up = await call('POST', '/api/v1/certificates', { body: { name: 'site', cert: a.chain, key: a.key } });
    assert.equal(up.statusCode, 201);
    assert.equal(up.json<{ certificate: { warning: string | null } }>().certificate.warning, null);
    assert.ok(!fx.stateFile().includes('PRIVATE KEY'), 'the persisted state holds no plaintext key');
    const list = await call('GET', '/api/v1/certificates', { headers: asViewer });
    assert.deepEqual(list.json<{ certificates: { name: string; names: string[] }[] }>().certificates.map((c) => [c.name, c.names]), [['site', ['a.example.test']]]);
    assert.ok(!list.body.includes('sealed:'));
    const put = await call('PUT', '/api/v1/certificates/{name}', { params: { name: 'site' }, body: { cert: b.chain, key: b.key } });
    assert.equal(put.statusCode, 200);
    assert.match(put.json<{ certificate: { warning: string } }>().certificate.warning, /^expires in [45] days$/);
    const one = await call('GET', '/api/v1/certificates/{name}', { params: { name: 'site' } });
    assert.equal(one.json<{ certificate: { chainLength: number } }>().certificate.chainLength, 2);
    const l = await call('POST', '/api/v1/listeners', { body: { name: 'tls', mode: 'http', bind: '127.0.0.1:18443', routes: [{ pathPrefix: '/', pool: 'web' }], tls: { certificates: [{ name: 'site' }] } } });
    assert.equal(l.statusCode, 201, l.body);
    // Read back in the input form, so the body can be PUT back.
    assert.deepEqual(l.json<{ listener: { tls: unknown } }>().listener.tls, { certificates: [{ name: 'site' }], minVersion: 'TLSv1.2', http2: true });
    const inline = await call('POST', '/api/v1/listeners', { body: { name: 'tls2', mode: 'http', bind: '127.0.0.1:18444', routes: [{ pathPrefix: '/', pool: 'web' }], tls: { certificates: [{ cert: a.chain, key: a.key }] }, compression: {}, headers: { hideServer: 'edge' } } });
    assert.equal(inline.statusCode, 201, inline.body);
    assert.ok(!inline.body.includes('PRIVATE KEY'), 'an inline key is never read back');
    assert.ok(!fx.stateFile().includes('PRIVATE KEY'), 'and it is sealed in the replicated state');
    assert.equal(inline.json<{ listener: { headers: { hideServer: string } } }>().listener.headers.hideServer, 'edge');
    assert.equal((await call('DELETE', '/api/v1/listeners/{listener}', { params: { listener: 'tls2' } })).statusCode, 200);
    const inUse = await call('DELETE', '/api/v1/certificates/{name}', { params: { name: 'site' } });
    assert.equal(inUse.statusCode, 409);
    assert.equal((await call('DELETE', '/api/v1/listeners/{listener}', { params: { listener: 'tls' } })).statusCode, 200);
    assert.equal((await call('DELETE', '/api/v1/certificates/{name}', { params: { name: 'site' } })).statusCode, 200);
    assert.equal((await call('GET', '/api/v1/certificates/{name}', { params: { name: 'site' } })).statusCode, 404);
  } finally {
    pki.cleanup();
  }
});

test('docs: the OpenAPI document and the docs page list every operation', async () => {
  const json = await call('GET', '/api/v1/openapi.json', { headers: asViewer });
  assert.equal(json.json<OpenApi>().openapi, '3.1.0');
  const page = await call('GET', '/api/v1/docs', { headers: asViewer });
  assert.match(String(page.headers['content-type']), /^text\/html/);
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const method of Object.keys(ops)) assert.ok(page.body.includes(`<code>${method.toUpperCase()}</code></td><td><code>${path}</code>`), `docs page lacks ${method} ${path}`);
  }
  // Every path parameter is documented.
  for (const [path, ops] of Object.entries(doc.paths)) {
    const names = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
    for (const op of Object.values(ops)) assert.deepEqual(op.parameters.filter((p) => p.in === 'path').map((p) => p.name), names, path);
  }
});

test('every documented operation was exercised above', () => {
  const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
  assert.ok(documented.length >= 30, `only ${documented.length} operations documented`);
  assert.deepEqual(documented.filter((op) => !called.has(op)), []);
});
