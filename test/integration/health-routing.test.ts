// Active health checks deciding who gets traffic, end to end: the node checks real origins,
// commits transitions, and the worker processes route around dead backends and back.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, test } from 'node:test';
import { get } from '../support/http-client.js';
import { startTestNode, type TestNode } from '../support/in-process-node.js';
import { startOrigin, type Origin } from '../support/origin-server.js';

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

const INTERVAL = 200;
const TIMEOUT = 100;
const RISE = 2;
const FALL = 2;

async function waitFor<T>(what: string, limitMs: number, probe: () => Promise<T | undefined> | T | undefined): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  while (Date.now() - started < limitMs) {
    const v = await probe();
    if (v !== undefined) return { value: v, ms: Date.now() - started };
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${what} did not happen within ${limitMs}ms`);
}

function health(n: TestNode, backend: string): string | undefined {
  return n.node.store!.read().health['web']?.[backend]?.status;
}

test('dead backends leave rotation, all down gives 503 (HTTP) or a closed connection (TCP), and a recovered one serves again', async () => {
  let a: Origin = await startOrigin('a');
  const b: Origin = await startOrigin('b');
  cleanups.push(() => a.close(), () => b.close());
  const n = await startTestNode({
    pools: [
      {
        name: 'web',
        healthCheck: { type: 'http', path: '/health', interval: `${INTERVAL}ms`, timeout: `${TIMEOUT}ms`, rise: RISE, fall: FALL },
        backends: [
          { name: 'a', address: a.address },
          { name: 'b', address: b.address },
        ],
      },
    ],
    listeners: [
      { name: 'web', mode: 'http', bind: '127.0.0.1:0', routes: [{ pathPrefix: '/', pool: 'web' }] },
      { name: 'raw', mode: 'tcp', bind: '127.0.0.1:0', pool: 'web' },
    ],
  });
  cleanups.push(() => n.stop());
  await waitFor('both backends up', 10_000, () => (health(n, 'a') === 'up' && health(n, 'b') === 'up' ? true : undefined));

  // a stops answering: out of rotation within fall × interval + timeout (plus slack for a loaded machine).
  await a.kill();
  const down = await waitFor('a marked down', 10_000, () => (health(n, 'a') === 'down' ? true : undefined));
  console.log(`a marked down ${down.ms}ms after it died (bound ${FALL * INTERVAL + TIMEOUT}ms + jitter)`);
  assert.ok(down.ms <= FALL * INTERVAL * 1.1 + TIMEOUT + INTERVAL + 1500, `took ${down.ms}ms`);
  const reason = n.node.store!.read().health['web']?.['a']?.reason ?? '';
  assert.match(reason, /ECONNREFUSED/);
  // Once the workers have the transition, every request goes to b.
  await n.node.supervisor!.waitApplied(n.node.store!.read().version, 10_000);
  for (let i = 0; i < 10; i++) assert.equal((await get(n.port('web'))).body, 'b');

  // b dies too: the balancer answers 503 and says why; TCP clients are closed at once.
  await b.kill();
  await waitFor('b marked down', 10_000, () => (health(n, 'b') === 'down' ? true : undefined));
  await n.node.supervisor!.waitApplied(n.node.store!.read().version, 10_000);
  const r = await get(n.port('web'));
  assert.equal(r.status, 503);
  assert.match(r.body, /no healthy backend in pool "web"/);
  const closed = await new Promise<{ bytes: number; ms: number }>((resolve, reject) => {
    const started = Date.now();
    let bytes = 0;
    const s = connect({ host: '127.0.0.1', port: n.port('raw') });
    s.on('data', (d: Buffer) => (bytes += d.length));
    s.on('close', () => resolve({ bytes, ms: Date.now() - started }));
    s.on('error', () => undefined);
    setTimeout(() => reject(new Error('tcp connection to an all-down pool stayed open')), 5000).unref();
  });
  assert.equal(closed.bytes, 0);

  // a comes back on its old port: traffic flows again with no restart of anything.
  a = await startOrigin('a', { port: Number(a.address.split(':')[1]) });
  const up = await waitFor('traffic through a again', 10_000, async () => {
    const res = await get(n.port('web'));
    return res.status === 200 ? res.body : undefined;
  });
  console.log(`a served again ${up.ms}ms after it came back (rise ${RISE} × ${INTERVAL}ms)`);
  assert.equal(up.value, 'a');
  assert.ok(up.ms <= RISE * INTERVAL * 1.1 + INTERVAL + 2000, `took ${up.ms}ms`);
});
