// Per-route retry and timeouts through the REST API: created, read back in input form, replaced, refused with the field named.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { asAdmin, webFixture, type WebFixture } from './web-fixture.js';

let fx: WebFixture;
before(async () => {
  fx = await webFixture();
});
after(() => fx.close());

const route = { pathPrefix: '/', pool: 'api', retry: { attempts: 2, on: ['5xx', 'timeout'] }, timeouts: { responseHeader: '750ms' } };
const listener = { name: 'retrying', mode: 'http', bind: '127.0.0.1:18089', routes: [route] };

test('a route retry and timeouts round-trip through the listener routes', async () => {
  const created = await fx.app.inject({ method: 'POST', url: '/api/v1/listeners', headers: asAdmin, payload: listener });
  assert.equal(created.statusCode, 201, created.body);
  const one = await fx.app.inject({ method: 'GET', url: '/api/v1/listeners/retrying', headers: asAdmin });
  const back = one.json<{ listener: { routes: Record<string, unknown>[] } }>().listener.routes[0];
  assert.deepEqual(back?.['retry'], { attempts: 2, on: ['5xx', 'timeout'], methods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE'] });
  assert.deepEqual(back?.['timeouts'], { responseHeader: '750ms' });
  const stored = fx.store.read().listeners.find((l) => l.name === 'retrying')?.routes[0];
  assert.deepEqual(stored?.timeouts, { responseHeaderMs: 750 });

  const put = await fx.app.inject({
    method: 'PUT',
    url: '/api/v1/listeners/retrying',
    headers: asAdmin,
    payload: { ...listener, routes: [{ ...route, retry: { attempts: 1, on: ['reset'], methods: ['GET', 'POST'] } }] },
  });
  assert.equal(put.statusCode, 200, put.body);
  assert.deepEqual(fx.store.read().listeners.find((l) => l.name === 'retrying')?.routes[0]?.retry, { attempts: 1, on: ['reset'], methods: ['GET', 'POST'] });

  const bad = await fx.app.inject({ method: 'PUT', url: '/api/v1/listeners/retrying', headers: asAdmin, payload: { ...listener, routes: [{ ...route, retry: { attempts: -1 } }] } });
  assert.equal(bad.statusCode, 400);
  assert.match(bad.body, /routes\[0\]\.retry\.attempts: must be an integer 0\.\.10/);
});
