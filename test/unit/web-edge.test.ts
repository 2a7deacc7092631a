// Edge settings through the REST API's listener routes: written with PUT, read back in input form
// (so a GET body can be PUT back), and refused with a 400 naming the field.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { asAdmin, webFixture, type WebFixture } from './web-fixture.js';

let fx: WebFixture;
before(async () => {
  fx = await webFixture();
});
after(async () => {
  await fx.close();
});

const EDGE_LISTENER = {
  name: 'front',
  mode: 'http',
  bind: '127.0.0.1:18080',
  routes: [
    {
      pathPrefix: '/api/',
      pool: 'api',
      access: { allow: ['10.0.0.0/8'], deny: ['10.6.6.0/24'] },
      rateLimits: [{ key: 'header', header: 'x-api-key', rate: '600/m', burst: 20 }],
      filter: { mode: 'monitor', disable: ['sqli-comment'], json: true, maxJsonBytes: 65536 },
    },
    { pathPrefix: '/', pool: 'web' },
  ],
  access: { allow: [], deny: ['2001:db8::/32'] },
  rateLimits: [{ key: 'ip', rate: '10/s', burst: 30, scope: 'cluster' }],
  filter: { mode: 'block', disable: [], json: false, maxJsonBytes: 1048576 },
  accessLog: { format: 'combined', path: '/var/log/ballast/front.log', sample: 0.5 },
  acceptProxy: true,
  proxyFrom: ['192.0.2.0/24'],
};

test('PUT a listener with edge settings, GET reads them back in the same form', async () => {
  const put = await fx.app.inject({ method: 'PUT', url: '/api/v1/listeners/front', headers: asAdmin, payload: EDGE_LISTENER });
  assert.equal(put.statusCode, 200, put.body);
  const got = await fx.app.inject({ method: 'GET', url: '/api/v1/listeners/front', headers: asAdmin });
  const l = got.json<{ listener: Record<string, unknown> }>().listener;
  for (const key of ['access', 'rateLimits', 'filter', 'accessLog', 'acceptProxy', 'proxyFrom']) {
    assert.deepEqual(l[key], EDGE_LISTENER[key as keyof typeof EDGE_LISTENER], key);
  }
  const routes = l['routes'] as Record<string, unknown>[];
  assert.deepEqual(routes[0]?.['rateLimits'], [{ key: 'header', header: 'x-api-key', rate: '10/s', burst: 20, scope: 'node' }]);
  assert.deepEqual(routes[0]?.['access'], EDGE_LISTENER.routes[0]?.access);
  assert.deepEqual(routes[0]?.['filter'], EDGE_LISTENER.routes[0]?.filter);
  // The read-back form is accepted as a body as it is.
  const { port: _port, ...body } = l;
  const again = await fx.app.inject({ method: 'PUT', url: '/api/v1/listeners/front', headers: asAdmin, payload: body });
  assert.equal(again.statusCode, 200, again.body);
});

test('bad edge settings get a 400 naming the field, and change nothing', async () => {
  const before = fx.stateFile();
  const cases: [Record<string, unknown>, string][] = [
    [{ access: { deny: ['10.0.0.0/99'] } }, 'access.deny[0]'],
    [{ rateLimits: [{ key: 'ip', rate: 'lots' }] }, 'rateLimits[0].rate'],
    [{ routes: [{ pathPrefix: '/', pool: 'web', filter: { disable: ['nope'] } }] }, 'routes[0].filter.disable[0]'],
    [{ sendProxy: 'v3' }, 'sendProxy'],
  ];
  for (const [extra, field] of cases) {
    const res = await fx.app.inject({ method: 'PUT', url: '/api/v1/listeners/front', headers: asAdmin, payload: { ...EDGE_LISTENER, ...extra } });
    assert.equal(res.statusCode, 400, res.body);
    assert.equal(res.json<{ error: { field: string } }>().error.field, field, res.body);
  }
  assert.equal(fx.stateFile(), before);
});

test('PUT /listeners/:listener/edge replaces only the edge settings, routes named by prefix; audited', async () => {
  const res = await fx.app.inject({
    method: 'PUT',
    url: '/api/v1/listeners/front/edge',
    headers: asAdmin,
    payload: { rateLimits: [{ key: 'route', rate: '5/s' }], routes: [{ pathPrefix: '/', access: { deny: ['10.0.0.0/8'] } }] },
  });
  assert.equal(res.statusCode, 200, res.body);
  const l = res.json<{ listener: Record<string, unknown> }>().listener;
  assert.deepEqual(l['rateLimits'], [{ key: 'route', rate: '5/s', burst: 5, scope: 'node' }]);
  for (const gone of ['access', 'filter', 'accessLog', 'acceptProxy', 'proxyFrom']) assert.equal(l[gone], undefined, gone);
  const routes = l['routes'] as Record<string, unknown>[];
  assert.deepEqual(routes.map((r) => r['pathPrefix']), ['/api/', '/'], 'routes themselves unchanged');
  assert.equal(routes[0]?.['rateLimits'], undefined, 'a route not named loses its edge settings');
  assert.deepEqual(routes[1]?.['access'], { allow: [], deny: ['10.0.0.0/8'] });
  assert.equal(l['bind'], '127.0.0.1:18080');
  const audit = await fx.app.inject({ method: 'GET', url: '/api/v1/audit?limit=1', headers: asAdmin });
  assert.match(audit.body, /"action":"listener.edge"/);
});

test('PUT /listeners/:listener/edge names the body field at fault: unknown route, bad CIDR, tcp-only field', async () => {
  const bad: [Record<string, unknown>, string][] = [
    [{ routes: [{ pathPrefix: '/nope/' }] }, 'routes[0]'],
    [{ routes: [{ pathPrefix: '/', access: { deny: ['10.0.0.0/40'] } }] }, 'routes[0].access.deny[0]'],
    [{ maxConnsPerIp: 3 }, 'maxConnsPerIp'],
  ];
  for (const [payload, field] of bad) {
    const res = await fx.app.inject({ method: 'PUT', url: '/api/v1/listeners/front/edge', headers: asAdmin, payload });
    assert.equal(res.statusCode, 400, res.body);
    assert.equal(res.json<{ error: { field: string } }>().error.field, field, res.body);
  }
  const missing = await fx.app.inject({ method: 'PUT', url: '/api/v1/listeners/ghost/edge', headers: asAdmin, payload: {} });
  assert.equal(missing.statusCode, 404);
});
