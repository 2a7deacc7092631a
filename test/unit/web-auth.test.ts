// Authentication and authorization at the admin API: every protected operation refuses a caller
// without credentials (401), a viewer's writes (403) and cookie writes without the CSRF header
// (403), changing nothing; sessions, tokens, Basic, rate limiting and the first-start admin.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { LocalStateStore } from '../../cluster/node/local-store.js';
import { bootstrapAccess } from '../../web/access-bootstrap.js';
import { verifyPassword } from '../../web/password.js';
import { ADMIN, asAdmin, asViewer, basic, VIEWER, webFixture, type WebFixture } from './web-fixture.js';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
interface Op {
  method: Method;
  path: string;
  access: 'open' | 'viewer' | 'admin';
}

const PARAMS: Record<string, string> = { pool: 'web', backend: 'a', listener: 'front', user: VIEWER.user, id: 'abcdefabcdef' };

/** A body the operation would accept, so a missing check would show as a success, not a 400. */
const BODIES: Record<string, unknown> = {
  'POST /api/v1/session': ADMIN,
  'POST /api/v1/cluster/transfer-leadership': {},
  'POST /api/v1/pools': { name: 'fresh' },
  'PUT /api/v1/pools/{pool}': { name: 'web', backends: [{ name: 'a', address: '127.0.0.1:9101' }] },
  'POST /api/v1/pools/{pool}/backends': { name: 'fresh', address: '127.0.0.1:9999' },
  'PATCH /api/v1/pools/{pool}/backends/{backend}': { weight: 9 },
  'POST /api/v1/listeners': { name: 'fresh', mode: 'tcp', bind: '127.0.0.1:15999', pool: 'api' },
  'PUT /api/v1/listeners/{listener}': { name: 'front', mode: 'http', bind: '127.0.0.1:18080', routes: [{ pathPrefix: '/', pool: 'api' }] },
  'POST /api/v1/users': { name: 'fresh', role: 'viewer', password: 'fresh-password' },
  'PATCH /api/v1/users/{user}': { role: 'admin' },
  'POST /api/v1/tokens': { name: 'fresh' },
};

let fx: WebFixture;
let ops: Op[];

before(async () => {
  fx = await webFixture();
  const doc = (await fx.app.inject({ method: 'GET', url: '/api/v1/openapi.json', headers: asAdmin })).json<{ paths: Record<string, Record<string, { 'x-ballast-access': Op['access'] }>> }>();
  ops = Object.entries(doc.paths).flatMap(([path, byMethod]) => Object.entries(byMethod).map(([m, op]) => ({ method: m.toUpperCase() as Method, path, access: op['x-ballast-access'] })));
});
after(() => fx.close());

function inject(op: Op, headers: Record<string, string>) {
  const url = op.path.replace(/\{(\w+)\}/g, (_m, n: string) => PARAMS[n] ?? n);
  const body = BODIES[`${op.method} ${op.path}`];
  return fx.app.inject({ method: op.method, url, headers, ...(body === undefined ? {} : { payload: body as object }) });
}

test('the matrix covers the whole API', () => {
  assert.ok(ops.length >= 30, `only ${ops.length} operations`);
  assert.deepEqual(ops.filter((o) => o.access === 'open').map((o) => `${o.method} ${o.path}`).sort(), ['GET /healthz', 'GET /readyz', 'POST /api/v1/session']);
});

test('every protected operation without credentials: 401, nothing changes', async () => {
  const before = fx.stateFile();
  for (const op of ops.filter((o) => o.access !== 'open')) {
    const res = await inject(op, {});
    assert.equal(res.statusCode, 401, `${op.method} ${op.path}: ${res.body}`);
    assert.equal(res.json<{ error: { code: string } }>().error.code, 'WEB_ERR_UNAUTHORIZED');
  }
  assert.equal(fx.stateFile(), before);
});

test('every admin operation as a viewer (Basic, or a session with its CSRF token): 403, nothing changes', async () => {
  const session = await fx.login(VIEWER);
  const before = fx.stateFile();
  for (const op of ops.filter((o) => o.access === 'admin')) {
    for (const headers of [asViewer, { cookie: session.cookie, 'x-csrf-token': session.csrf }]) {
      const res = await inject(op, headers);
      assert.equal(res.statusCode, 403, `${op.method} ${op.path}: ${res.body}`);
      assert.equal(res.json<{ error: { code: string } }>().error.code, 'WEB_ERR_FORBIDDEN');
    }
  }
  assert.equal(fx.stateFile(), before);
});

test('every write with the session cookie but no CSRF header: 403, nothing changes', async () => {
  const session = await fx.login(ADMIN);
  const before = fx.stateFile();
  for (const op of ops.filter((o) => o.access !== 'open' && o.method !== 'GET')) {
    for (const headers of [{ cookie: session.cookie }, { cookie: session.cookie, 'x-csrf-token': 'wrong' }]) {
      const res = await inject(op, headers);
      assert.equal(res.statusCode, 403, `${op.method} ${op.path}: ${res.body}`);
      assert.equal(res.json<{ error: { code: string } }>().error.code, 'WEB_ERR_CSRF');
    }
  }
  assert.equal(fx.stateFile(), before);
});

test('a cross-site form post riding on the cookie is refused; the same write with the header works', async () => {
  const session = await fx.login(ADMIN);
  const before = fx.stateFile();
  for (const [type, payload] of [
    ['application/x-www-form-urlencoded', 'weight=0'],
    ['text/plain', '{"weight":0}'],
    ['multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="weight"\r\n\r\n0\r\n--x--\r\n'],
  ] as const) {
    const res = await fx.app.inject({ method: 'PATCH', url: '/api/v1/pools/web/backends/a', headers: { cookie: session.cookie, 'content-type': type }, payload });
    assert.equal(res.statusCode, 403, type);
  }
  const other = await fx.login(ADMIN);
  const crossed = await fx.app.inject({ method: 'PATCH', url: '/api/v1/pools/web/backends/a', headers: { cookie: session.cookie, 'x-csrf-token': other.csrf }, payload: { weight: 0 } });
  assert.equal(crossed.statusCode, 403, 'a CSRF token belongs to its own session');
  assert.equal(fx.stateFile(), before);

  const ok = await fx.app.inject({ method: 'PATCH', url: '/api/v1/pools/web/backends/a', headers: { cookie: session.cookie, 'x-csrf-token': session.csrf }, payload: { weight: 4 } });
  assert.equal(ok.statusCode, 200, ok.body);
  const entry = fx.store.readAccess().audit({ limit: 1 })[0];
  assert.equal(entry?.via, 'session');
  assert.equal(entry?.detail, 'weight=4');
});

test('viewers read everything readable', async () => {
  for (const op of ops.filter((o) => o.access === 'viewer' && o.method === 'GET')) {
    const res = await inject(op, asViewer);
    assert.ok(res.statusCode === 200 || res.statusCode === 404, `${op.method} ${op.path}: ${res.statusCode} ${res.body}`);
  }
});

test('bad credentials: wrong or unknown user, malformed headers, forged or foreign cookies', async () => {
  const cases: [string, Record<string, string>][] = [
    ['wrong password', basic(ADMIN.user, 'nope-nope-nope')],
    ['unknown user', basic('nobody', 'whatever-1')],
    ['Basic without a colon', { authorization: `Basic ${Buffer.from('rootpassword').toString('base64')}` }],
    ['unknown scheme', { authorization: 'Digest abc' }],
    ['bearer that is not a token', { authorization: 'Bearer hello' }],
    ['well-formed bearer nobody issued', { authorization: `Bearer blt_0123456789ab_${'A'.repeat(43)}` }],
    ['forged cookie', { cookie: 'ballast_session=eyJ1Ijoicm9vdCJ9.AAAA' }],
  ];
  for (const [what, headers] of cases) {
    const res = await fx.app.inject({ method: 'GET', url: '/api/v1/pools', headers });
    assert.equal(res.statusCode, 401, what);
    assert.match(String(res.headers['www-authenticate']), /^Bearer realm="ballast"$/);
  }
  const login = await fx.app.inject({ method: 'POST', url: '/api/v1/session', payload: { user: 'nobody', password: 'x' } });
  const wrong = await fx.app.inject({ method: 'POST', url: '/api/v1/session', payload: { user: ADMIN.user, password: 'x' } });
  assert.equal(login.statusCode, 401);
  assert.deepEqual(login.json(), wrong.json(), 'an unknown user and a wrong password read the same');

  const foreign = await webFixture();
  try {
    const cookie = (await foreign.login(ADMIN)).cookie;
    const res = await fx.app.inject({ method: 'GET', url: '/api/v1/pools', headers: { cookie } });
    assert.equal(res.statusCode, 401, "another cluster's session does not open this one");
  } finally {
    await foreign.close();
  }
});

test('unknown URLs need credentials before they 404', async () => {
  assert.equal((await fx.app.inject({ method: 'GET', url: '/api/v1/nothing' })).statusCode, 401);
  const res = await fx.app.inject({ method: 'GET', url: '/api/v1/nothing', headers: asViewer });
  assert.equal(res.statusCode, 404);
  assert.equal(res.json<{ error: { code: string } }>().error.code, 'WEB_ERR_NOT_FOUND');
});

test('a session issued by one node is valid on another node with the same replicated state', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ballast-web-peer-'));
  copyFileSync(join(fx.dir, 'state.json'), join(dir, 'state.json'));
  const peer = await webFixture({ dir });
  try {
    const { cookie, csrf } = await fx.login(ADMIN);
    const res = await peer.app.inject({ method: 'PATCH', url: '/api/v1/pools/web/backends/b', headers: { cookie, 'x-csrf-token': csrf }, payload: { weight: 5 } });
    assert.equal(res.statusCode, 200, res.body);
  } finally {
    await peer.close();
  }
});

test('sessions end: on expiry and when the password changes', async () => {
  let now = Date.now();
  const timed = await webFixture({ now: () => now });
  try {
    const { cookie } = await timed.login(VIEWER);
    assert.equal((await timed.app.inject({ method: 'GET', url: '/api/v1/session', headers: { cookie } })).statusCode, 200);
    now += 13 * 60 * 60 * 1000;
    assert.equal((await timed.app.inject({ method: 'GET', url: '/api/v1/session', headers: { cookie } })).statusCode, 401, 'expired after 12 h');

    const fresh = await timed.login(VIEWER);
    const change = await timed.app.inject({ method: 'PATCH', url: `/api/v1/users/${VIEWER.user}`, headers: asAdmin, payload: { password: 'another-password' } });
    assert.equal(change.statusCode, 200);
    assert.equal((await timed.app.inject({ method: 'GET', url: '/api/v1/session', headers: { cookie: fresh.cookie } })).statusCode, 401);
    assert.equal((await timed.app.inject({ method: 'GET', url: '/api/v1/session', headers: basic(VIEWER.user, 'another-password') })).statusCode, 200);
  } finally {
    await timed.close();
  }
});

test('login failures are rate limited per user and per client address, for sessions and Basic alike', async () => {
  let now = Date.now();
  const limited = await webFixture({ now: () => now, loginLimits: { perUser: 3, perAddress: 5, windowMs: 60_000 } });
  try {
    const attempt = (user: string, password: string, ip = '127.0.0.1') =>
      limited.app.inject({ method: 'POST', url: '/api/v1/session', payload: { user, password }, remoteAddress: ip });
    for (let i = 0; i < 3; i++) assert.equal((await attempt(ADMIN.user, 'bad-guess')).statusCode, 401);
    const blocked = await attempt(ADMIN.user, ADMIN.password);
    assert.equal(blocked.statusCode, 429, 'even the right password waits once the user is locked');
    assert.equal(blocked.json<{ error: { code: string } }>().error.code, 'WEB_ERR_RATE_LIMITED');
    const retry = Number(blocked.headers['retry-after']);
    assert.ok(retry >= 1 && retry <= 60, `retry-after ${retry}`);
    // Basic auth shares the budget.
    assert.equal((await limited.app.inject({ method: 'GET', url: '/api/v1/pools', headers: asAdmin })).statusCode, 429);

    // Another user from the same address: 2 more failures reach the address limit of 5.
    assert.equal((await attempt(VIEWER.user, 'bad-guess')).statusCode, 401);
    assert.equal((await attempt(VIEWER.user, 'bad-guess')).statusCode, 401);
    assert.equal((await attempt(VIEWER.user, VIEWER.password)).statusCode, 429);
    // The same user from elsewhere is only limited by the user budget (2 of 3 used).
    assert.equal((await attempt(VIEWER.user, VIEWER.password, '127.0.0.2')).statusCode, 200);

    now += 61_000;
    assert.equal((await attempt(ADMIN.user, ADMIN.password)).statusCode, 200, 'the window passes');
  } finally {
    await limited.close();
  }
});

test("tokens act as their user, never above the user's current role, and die with the user", async () => {
  const add = await fx.app.inject({ method: 'POST', url: '/api/v1/users', headers: asAdmin, payload: { name: 'robot', role: 'admin', password: 'robot-password' } });
  assert.equal(add.statusCode, 201);
  const made = await fx.app.inject({ method: 'POST', url: '/api/v1/tokens', headers: basic('robot', 'robot-password'), payload: { name: 'ci' } });
  assert.equal(made.statusCode, 201);
  const bearer = { authorization: `Bearer ${made.json<{ secret: string }>().secret}` };
  const write = () => fx.app.inject({ method: 'PATCH', url: '/api/v1/pools/web/backends/b', headers: bearer, payload: { weight: 2 } });
  assert.equal((await write()).statusCode, 200);
  assert.equal(fx.store.readAccess().audit({ limit: 1 })[0]?.via, 'token');

  await fx.app.inject({ method: 'PATCH', url: '/api/v1/users/robot', headers: asAdmin, payload: { role: 'viewer' } });
  assert.equal((await write()).statusCode, 403, 'demoted with its user');
  await fx.app.inject({ method: 'DELETE', url: '/api/v1/users/robot', headers: asAdmin });
  assert.equal((await write()).statusCode, 401, 'gone with its user');
});

test('first start: a generated admin password is logged once and works; a configured one is never logged', async () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const logger = pino({ level: 'info' }, sink);
  const store = await LocalStateStore.open(mkdtempSync(join(tmpdir(), 'ballast-web-boot-')));
  try {
    await bootstrapAccess(store, { user: 'admin', password: null }, logger);
    await bootstrapAccess(store, { user: 'admin', password: null }, logger);
    const shown = lines.filter((l) => l.includes('generated admin password'));
    assert.equal(shown.length, 1, lines.join(''));
    const password = /: ([A-Za-z0-9]{24})"/.exec(shown[0]!)?.[1];
    assert.ok(password, shown[0]);
    assert.equal(await verifyPassword(password, store.readAccess().user('admin')!.passwordHash), true);
    assert.equal(store.readAccess().user('admin')?.role, 'admin');
    assert.ok(store.readAccess().sessionSecret());
  } finally {
    await store.close();
  }

  lines.length = 0;
  const configured = await LocalStateStore.open(mkdtempSync(join(tmpdir(), 'ballast-web-boot-')));
  try {
    await bootstrapAccess(configured, { user: 'chief', password: 'configured-secret' }, logger);
    assert.equal(configured.readAccess().user('chief')?.role, 'admin');
    assert.doesNotMatch(lines.join(''), /configured-secret/);
  } finally {
    await configured.close();
  }
});
