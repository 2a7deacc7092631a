// Malformed and refused requests: each gets its 4xx with a stable code and the field at fault, and
// the replicated state (the persisted file, access data and audit log included) stays byte-equal.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { asAdmin, webFixture, type WebFixture } from './web-fixture.js';

interface Case {
  what: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  /** An object is sent as JSON; a string is sent as is (with `type`). */
  body?: unknown;
  type?: string;
  status: number;
  code: string;
  field: string;
  /** Part of the message the client needs to fix it. */
  says?: RegExp;
}

const backend = (extra: Record<string, unknown>) => ({ name: 'c', address: '127.0.0.1:9103', ...extra });
const BACKENDS = '/api/v1/pools/web/backends';

const CASES: Case[] = [
  { what: 'negative weight', method: 'POST', url: BACKENDS, body: backend({ weight: -1 }), status: 400, code: 'CONFIG_ERR_INVALID', field: 'weight', says: /integer 0\.\.256/ },
  { what: 'weight above 256', method: 'POST', url: BACKENDS, body: backend({ weight: 257 }), status: 400, code: 'CONFIG_ERR_INVALID', field: 'weight' },
  { what: 'weight as a string', method: 'POST', url: BACKENDS, body: backend({ weight: '5' }), status: 400, code: 'CONFIG_ERR_INVALID', field: 'weight' },
  { what: 'fractional weight', method: 'POST', url: BACKENDS, body: backend({ weight: 1.5 }), status: 400, code: 'CONFIG_ERR_INVALID', field: 'weight' },
  { what: 'unknown field', method: 'POST', url: BACKENDS, body: backend({ colour: 'red' }), status: 400, code: 'CONFIG_ERR_INVALID', field: 'colour', says: /unknown field; allowed here: name, address/ },
  { what: 'missing address', method: 'POST', url: BACKENDS, body: { name: 'c' }, status: 400, code: 'CONFIG_ERR_INVALID', field: 'address', says: /is required/ },
  { what: 'path traversal in a body name', method: 'POST', url: BACKENDS, body: backend({ name: '../etc' }), status: 400, code: 'CONFIG_ERR_INVALID', field: 'name', says: /letters, digits/ },
  { what: 'control character in a name', method: 'POST', url: BACKENDS, body: backend({ name: 'a\u0000b' }), status: 400, code: 'CONFIG_ERR_INVALID', field: 'name' },
  { what: 'name of 64 characters', method: 'POST', url: BACKENDS, body: backend({ name: 'x'.repeat(64) }), status: 400, code: 'CONFIG_ERR_INVALID', field: 'name' },
  { what: 'address without a port', method: 'POST', url: BACKENDS, body: backend({ address: '127.0.0.1' }), status: 400, code: 'CONFIG_ERR_INVALID', field: 'address', says: /host:port/ },
  { what: 'port above 65535', method: 'POST', url: BACKENDS, body: backend({ address: '127.0.0.1:70000' }), status: 400, code: 'CONFIG_ERR_INVALID', field: 'address', says: /port 0\.\.65535/ },
  { what: 'wildcard backend address', method: 'POST', url: BACKENDS, body: backend({ address: '0.0.0.0:80' }), status: 400, code: 'CONFIG_ERR_INVALID', field: 'address', says: /wildcard/ },
  { what: 'health-check port 0', method: 'POST', url: BACKENDS, body: backend({ healthCheck: { port: 0 } }), status: 400, code: 'CONFIG_ERR_INVALID', field: 'healthCheck.port' },
  { what: 'duplicate backend name', method: 'POST', url: BACKENDS, body: backend({ name: 'a' }), status: 409, code: 'STATE_ERR_CONFLICT', field: 'name', says: /already exists/ },
  { what: 'backend in an unknown pool', method: 'POST', url: '/api/v1/pools/nope/backends', body: backend({}), status: 404, code: 'STATE_ERR_NOT_FOUND', field: 'pool', says: /no pool named "nope"/ },
  { what: 'empty patch', method: 'PATCH', url: `${BACKENDS}/a`, body: {}, status: 400, code: 'CONFIG_ERR_INVALID', field: '', says: /at least one of weight, state/ },
  { what: 'unknown admin state', method: 'PATCH', url: `${BACKENDS}/a`, body: { state: 'paused' }, status: 400, code: 'CONFIG_ERR_INVALID', field: 'state', says: /one of: active, drain, disabled/ },
  { what: 'null weight', method: 'PATCH', url: `${BACKENDS}/a`, body: { weight: null }, status: 400, code: 'CONFIG_ERR_INVALID', field: 'weight' },
  { what: 'patch of an unknown backend', method: 'PATCH', url: `${BACKENDS}/zz`, body: { weight: 1 }, status: 404, code: 'STATE_ERR_NOT_FOUND', field: 'backend', says: /no backend named "zz" in pool "web"/ },
  { what: 'removing an unknown backend', method: 'DELETE', url: `${BACKENDS}/zz`, status: 404, code: 'STATE_ERR_NOT_FOUND', field: 'backend' },
  { what: 'reading an unknown pool', method: 'GET', url: '/api/v1/pools/nope', status: 404, code: 'WEB_ERR_NOT_FOUND', field: 'pool', says: /no pool named "nope"/ },
  { what: 'path traversal in the URL', method: 'GET', url: '/api/v1/pools/..%2F..%2Fetc%2Fpasswd', status: 400, code: 'CONFIG_ERR_INVALID', field: 'pool' },
  { what: 'encoded slash in a backend name', method: 'DELETE', url: `${BACKENDS}/a%2Fb`, status: 400, code: 'CONFIG_ERR_INVALID', field: 'backend' },
  { what: 'deleting a pool a listener uses', method: 'DELETE', url: '/api/v1/pools/web', status: 409, code: 'STATE_ERR_CONFLICT', field: 'pool', says: /used by listener "front"/ },
  { what: 'creating a pool that exists', method: 'POST', url: '/api/v1/pools', body: { name: 'web' }, status: 409, code: 'STATE_ERR_CONFLICT', field: 'name', says: /already exists/ },
  {
    what: 'duplicate backend names in a new pool',
    method: 'POST',
    url: '/api/v1/pools',
    body: { name: 'dup', backends: [{ name: 'a', address: '127.0.0.1:1' }, { name: 'a', address: '127.0.0.1:2' }] },
    status: 400,
    code: 'CONFIG_ERR_INVALID',
    field: 'backends[1].name',
    says: /duplicate backend name "a"/,
  },
  {
    what: 'health-check timeout not below interval',
    method: 'POST',
    url: '/api/v1/pools',
    body: { name: 'slow', healthCheck: { type: 'tcp', interval: '1s', timeout: '1s' } },
    status: 400,
    code: 'CONFIG_ERR_INVALID',
    field: 'healthCheck.timeout',
    says: /shorter than interval/,
  },
  { what: 'unknown scheduler', method: 'POST', url: '/api/v1/pools', body: { name: 'p', scheduler: 'random' }, status: 400, code: 'CONFIG_ERR_INVALID', field: 'scheduler' },
  { what: 'a bad address deep in a pool', method: 'POST', url: '/api/v1/pools', body: { name: 'p', backends: [{ name: 'a', address: '127.0.0.1:1' }, { name: 'b', address: 'h:99999' }] }, status: 400, code: 'CONFIG_ERR_INVALID', field: 'backends[1].address' },
  { what: 'renaming a pool by PUT', method: 'PUT', url: '/api/v1/pools/web', body: { name: 'api' }, status: 400, code: 'WEB_ERR_INVALID', field: 'name', says: /must match the pool in the path/ },
  { what: 'replacing a pool that does not exist', method: 'PUT', url: '/api/v1/pools/nope', body: { name: 'nope' }, status: 404, code: 'STATE_ERR_NOT_FOUND', field: 'pool' },
  { what: 'http listener without routes', method: 'POST', url: '/api/v1/listeners', body: { name: 'l', mode: 'http', bind: '127.0.0.1:1' }, status: 400, code: 'CONFIG_ERR_INVALID', field: 'routes', says: /at least one route/ },
  { what: 'listener on a missing pool', method: 'POST', url: '/api/v1/listeners', body: { name: 'l', mode: 'tcp', bind: '127.0.0.1:15000', pool: 'ghost' }, status: 404, code: 'STATE_ERR_NOT_FOUND', field: 'pool', says: /create it first/ },
  { what: 'listener on a taken address', method: 'POST', url: '/api/v1/listeners', body: { name: 'l', mode: 'tcp', bind: '127.0.0.1:18080', pool: 'api' }, status: 409, code: 'STATE_ERR_CONFLICT', field: 'bind', says: /overlaps listener "front"/ },
  { what: 'listener name taken', method: 'POST', url: '/api/v1/listeners', body: { name: 'front', mode: 'tcp', bind: '127.0.0.1:15001', pool: 'api' }, status: 409, code: 'STATE_ERR_CONFLICT', field: 'name' },
  { what: 'deleting an unknown listener', method: 'DELETE', url: '/api/v1/listeners/nope', status: 404, code: 'STATE_ERR_NOT_FOUND', field: 'listener' },
  { what: 'body that is not JSON', method: 'POST', url: BACKENDS, body: '{"name": ', type: 'application/json', status: 400, code: 'WEB_ERR_BAD_JSON', field: 'body' },
  { what: 'empty JSON body', method: 'POST', url: BACKENDS, body: '', type: 'application/json', status: 400, code: 'WEB_ERR_BAD_JSON', field: 'body' },
  { what: 'prototype pollution attempt', method: 'POST', url: BACKENDS, body: '{"name":"c","address":"127.0.0.1:1","__proto__":{"admin":true}}', type: 'application/json', status: 400, code: 'WEB_ERR_BAD_JSON', field: 'body' },
  { what: 'an array for an object', method: 'POST', url: BACKENDS, body: [], status: 400, code: 'CONFIG_ERR_INVALID', field: '', says: /must be object/ },
  { what: 'a string for an object', method: 'POST', url: BACKENDS, body: '"c"', type: 'application/json', status: 400, code: 'CONFIG_ERR_INVALID', field: '' },
  { what: 'no body at all', method: 'POST', url: BACKENDS, status: 400, code: 'CONFIG_ERR_INVALID', field: 'name', says: /is required/ },
  { what: 'oversized body', method: 'POST', url: '/api/v1/pools', body: JSON.stringify({ name: 'big', pad: 'x'.repeat(2 * 1024 * 1024) }), type: 'application/json', status: 413, code: 'WEB_ERR_TOO_LARGE', field: 'body' },
  { what: 'XML body', method: 'POST', url: BACKENDS, body: '<backend/>', type: 'application/xml', status: 415, code: 'WEB_ERR_MEDIA_TYPE', field: 'body' },
  { what: 'short password', method: 'POST', url: '/api/v1/users', body: { name: 'u', role: 'viewer', password: 'short' }, status: 400, code: 'CONFIG_ERR_INVALID', field: 'password', says: /8\.\.1024/ },
  { what: 'unknown role', method: 'POST', url: '/api/v1/users', body: { name: 'u', role: 'root', password: 'long-enough' }, status: 400, code: 'CONFIG_ERR_INVALID', field: 'role' },
  { what: 'user name taken', method: 'POST', url: '/api/v1/users', body: { name: 'watcher', role: 'viewer', password: 'long-enough' }, status: 409, code: 'STATE_ERR_CONFLICT', field: 'name' },
  { what: 'deleting the last admin', method: 'DELETE', url: '/api/v1/users/root', status: 409, code: 'STATE_ERR_CONFLICT', field: 'user', says: /last admin/ },
  { what: 'demoting the last admin', method: 'PATCH', url: '/api/v1/users/root', body: { role: 'viewer' }, status: 409, code: 'STATE_ERR_CONFLICT', field: 'role' },
  { what: 'malformed token id', method: 'DELETE', url: '/api/v1/tokens/xyz', status: 400, code: 'CONFIG_ERR_INVALID', field: 'id' },
  { what: 'unknown token', method: 'DELETE', url: '/api/v1/tokens/abcdefabcdef', status: 404, code: 'STATE_ERR_NOT_FOUND', field: 'token' },
  { what: 'audit limit 0', method: 'GET', url: '/api/v1/audit?limit=0', status: 400, code: 'CONFIG_ERR_INVALID', field: 'limit', says: /1\.\.1000/ },
  { what: 'unknown query parameter', method: 'GET', url: '/api/v1/audit?colour=red', status: 400, code: 'CONFIG_ERR_INVALID', field: 'colour' },
  { what: 'login without a password', method: 'POST', url: '/api/v1/session', body: { user: 'root' }, status: 400, code: 'CONFIG_ERR_INVALID', field: 'password' },
  { what: 'transfer to a malformed node id', method: 'POST', url: '/api/v1/cluster/transfer-leadership', body: { to: '../n2' }, status: 400, code: 'CONFIG_ERR_INVALID', field: 'to' },
];

let fx: WebFixture;
before(async () => {
  fx = await webFixture();
});
after(() => fx.close());

test('the table is long enough to mean something', () => {
  assert.ok(CASES.length >= 30, `${CASES.length} cases`);
});

for (const c of CASES) {
  test(`${c.status} ${c.code} ${c.field || '(whole body)'}: ${c.what}`, async () => {
    const before = fx.stateFile();
    const payload = c.body === undefined ? {} : typeof c.body === 'string' ? { payload: c.body } : { payload: JSON.stringify(c.body) };
    const type = c.body === undefined ? {} : { 'content-type': c.type ?? 'application/json' };
    const res = await fx.app.inject({ method: c.method, url: c.url, headers: { ...asAdmin, ...type }, ...payload });
    assert.equal(res.statusCode, c.status, res.body);
    const { error } = res.json<{ error: { code: string; message: string; field: string } }>();
    assert.equal(error.code, c.code, res.body);
    assert.equal(error.field, c.field, res.body);
    assert.ok(error.message.length > 0);
    if (c.code === 'CONFIG_ERR_INVALID' && c.field) assert.ok(error.message.startsWith(`${c.field}: `), `message names the field: ${error.message}`);
    if (c.says) assert.match(error.message, c.says);
    assert.equal(fx.stateFile(), before, 'the state changed');
  });
}
