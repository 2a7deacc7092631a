// `ballast start` as a real process: bad configs exit 2 naming the field; a good one serves
// traffic, answers /readyz, and exits 0 on SIGTERM after draining.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { freePort } from '../support/free-port.js';
import { get } from '../support/http-client.js';
import { runCli, startNodeProcess, writeConfig } from '../support/node-process.js';
import { startOrigin } from '../support/origin-server.js';

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

test('a bad config exits 2 with the path of the bad field and why', async () => {
  const path = writeConfig({
    node: { id: 'n1', dataDir: '/tmp/x', adminListen: '127.0.0.1:1' },
    bootstrap: { pools: [{ name: 'web', backends: [{ name: 'a', address: '127.0.0.1:1' }, { name: 'b', address: '127.0.0.1:2', weight: 300 }] }] },
  });
  const r = await runCli(['start', '--config', path]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /bootstrap\.pools\[0\]\.backends\[1\]\.weight: must be an integer 0\.\.256/);
});

test('start without --config explains itself', async () => {
  const r = await runCli(['start']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--config FILE is required/);
});

test('a good config serves traffic, reports ready, and exits 0 on SIGTERM', async () => {
  const o = await startOrigin('solo');
  cleanups.push(() => o.close());
  const dataDir = mkdtempSync(join(tmpdir(), 'ballast-cli-'));
  const httpPort = await freePort();
  const node = await startNodeProcess({
    node: { id: 'n1', dataDir, adminListen: `127.0.0.1:${await freePort()}`, workers: 2 },
    bootstrap: {
      pools: [{ name: 'web', healthCheck: { type: 'http', path: '/health', interval: '200ms', timeout: '100ms' }, backends: [{ name: 'solo', address: o.address }] }],
      listeners: [{ name: 'web', mode: 'http', bind: `127.0.0.1:${httpPort}`, routes: [{ pathPrefix: '/', pool: 'web' }] }],
    },
  });
  cleanups.push(() => node.stop('SIGKILL'));
  assert.equal(node.ports['web'], httpPort);
  // Health must come up (rise 2 at 200ms) before traffic is served.
  let last = { status: 0, body: '' };
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    last = await get(httpPort);
    if (last.status === 200) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(last.status, 200, node.output());
  assert.equal(last.body, 'solo');
  const code = await node.stop('SIGTERM');
  assert.equal(code, 0, node.output());
});
