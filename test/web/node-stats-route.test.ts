// GET /api/v1/node/stats on a real fastify server reading this machine through systeminformation.
import assert from 'node:assert/strict';
import { cpus } from 'node:os';
import { it } from 'node:test';
import Fastify from 'fastify';
import { type NodeStatsBody, nodeStatsRoute } from '../../web/node-stats-route.js';

it('reports CPU, memory, load and the loopback interface, and caches a reading briefly', async () => {
  const app = Fastify();
  await app.register(nodeStatsRoute, { nodeId: 'n7' });
  await app.listen({ host: '127.0.0.1', port: 0 });
  try {
    const addr = app.server.address();
    assert.ok(addr && typeof addr === 'object');
    const get = async () => {
      const res = await fetch(`http://127.0.0.1:${addr.port}/api/v1/node/stats`);
      assert.equal(res.status, 200);
      return (await res.json()) as NodeStatsBody;
    };
    const a = await get();
    assert.equal(a.node, 'n7');
    assert.equal(a.cpu.cores, cpus().length);
    assert.ok(a.cpu.percent >= 0 && a.cpu.percent <= 100, String(a.cpu.percent));
    assert.ok(a.memory.total > 0 && a.memory.used > 0 && a.memory.used <= a.memory.total);
    assert.equal(a.load.length, 3);
    assert.ok(a.uptimeSec > 0);
    const lo = a.interfaces.find((i) => i.ip4 === '127.0.0.1');
    assert.ok(lo, JSON.stringify(a.interfaces));
    // Within the cache window a second panel gets the same reading.
    const b = await get();
    if (Date.now() - a.at < 900) assert.equal(b.at, a.at);
  } finally {
    await app.close();
  }
});
