// The panel's split control, run in node: the listener model names the split routes and shows
// percentages, and the PUT body carries the typed weights, everything else as GET returned it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { listenerFromApi } from '../../web/panel/src/models.js';
import { splitFieldName, withSplitWeights } from '../../web/panel/src/split-weights.js';

const listener = {
  name: 'web',
  mode: 'http',
  bind: '127.0.0.1:8080',
  port: 8080,
  retries: 2,
  routes: [
    { pathPrefix: '/api/', pool: 'api' },
    { pathPrefix: '/', split: [{ pool: 'v1', weight: 95 }, { pool: 'v2', weight: 5 }], pin: { cookie: 'canary' } },
  ],
};

test('the listener model lists split routes with their weights and shows shares', () => {
  const m = listenerFromApi(listener);
  assert.deepEqual(m.splits, [{ index: 1, label: '/', targets: [{ pool: 'v1', weight: 95 }, { pool: 'v2', weight: 5 }] }]);
  assert.equal(m.target, '/api/ → api, / → v1 95% · v2 5%');
  assert.deepEqual(listenerFromApi({ ...listener, routes: [{ pathPrefix: '/', pool: 'a' }] }).splits, []);
});

test('blue-green from the control: the PUT body is the GET body with the new weights and no port', () => {
  const body = withSplitWeights(listener, { [splitFieldName(1, 'v1')]: '100', [splitFieldName(1, 'v2')]: '0' });
  assert.deepEqual(body, {
    name: 'web',
    mode: 'http',
    bind: '127.0.0.1:8080',
    retries: 2,
    routes: [
      { pathPrefix: '/api/', pool: 'api' },
      { pathPrefix: '/', split: [{ pool: 'v1', weight: 100 }, { pool: 'v2', weight: 0 }], pin: { cookie: 'canary' } },
    ],
  });
  const untouched = withSplitWeights(listener, {}) as { routes: unknown[] };
  assert.deepEqual(untouched.routes, listener.routes);
  const typo = withSplitWeights(listener, { [splitFieldName(1, 'v2')]: 'lots' }) as { routes: { split?: { weight: unknown }[] }[] };
  assert.equal(typo.routes[1]?.split?.[1]?.weight, 'lots', 'left for the API to refuse, naming the field');
});
