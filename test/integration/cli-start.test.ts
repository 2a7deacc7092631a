// `ballast start` as a real process: bad configs exit 2 naming the field; a good one serves
// traffic, answers /readyz, and exits 0 on SIGTERM after draining.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
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

test('ballast check: a good config exits 0 with its summary and starts nothing; a bad one exits 2 naming the field', async () => {
  const dataDir = join(mkdtempSync(join(tmpdir(), 'ballast-check-')), 'data');
  const good = writeConfig({
    node: { id: 'n1', dataDir, adminListen: '127.0.0.1:1', clusterListen: '127.0.0.1:2' },
    cluster: { secret: 'check-secret-1234', heartbeat: '500ms', electionTimeout: '5s', peers: ['n1', 'n2', 'n3'].map((id, i) => ({ id, address: `127.0.0.1:${2 + i}` })) },
  });
  const ok = await runCli(['check', '--config', good]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /: ok\n/);
  assert.match(ok.stdout, /3 voters \(n1, n2, n3\); VIP none/);
  assert.match(ok.stdout, /heartbeat 500 ms, election timeout 5000 ms .*peer connect timeout 10000 ms/);
  assert.equal(existsSync(dataDir), false, 'check creates nothing, not even the data dir');

  const bad = writeConfig({ node: { id: 'n1', dataDir, adminListen: '127.0.0.1:1' }, cluster: { peers: [{ id: 'n1', address: '127.0.0.1:2' }], electionTimeout: '100ms' } });
  const no = await runCli(['check', '--config', bad]);
  assert.equal(no.code, 2);
  assert.match(no.stderr, /ballast check: invalid config .*cluster\.electionTimeout: must be at least 3 heartbeats/);
  const missing = await runCli(['check']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /ballast check: --config FILE is required/);
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
