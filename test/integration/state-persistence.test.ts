// Runtime changes are state, not memory: a restarted node keeps them and does not re-bootstrap.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTestNode } from '../support/in-process-node.js';
import { startOrigin } from '../support/origin-server.js';

test('a change made at runtime survives a restart, and bootstrap is not applied again', async () => {
  const o = await startOrigin('o1');
  const bootstrap = {
    pools: [{ name: 'web', backends: [{ name: 'o1', address: o.address, weight: 1 }] }],
    listeners: [{ name: 'web', mode: 'http', bind: '127.0.0.1:0', routes: [{ pathPrefix: '/', pool: 'web' }] }],
  };
  const first = await startTestNode(bootstrap);
  let second: Awaited<ReturnType<typeof startTestNode>> | null = null;
  try {
    await first.change({ v: 1, op: 'backend.patch', pool: 'web', backend: 'o1', changes: { weight: 7, state: 'drain' } });
    await first.stop();
    // A different bootstrap: it must be ignored, since the state is not empty.
    second = await startTestNode({ pools: [{ name: 'other', backends: [] }], listeners: [] }, { dataDir: first.dataDir });
    const state = second.node.store!.read();
    assert.deepEqual(state.pools.map((p) => p.name), ['web']);
    assert.equal(state.pools[0]?.backends[0]?.weight, 7);
    assert.equal(state.pools[0]?.backends[0]?.state, 'drain');
  } finally {
    await first.stop();
    await second?.stop();
    await o.close();
  }
});
