// A stop that arrives while the node is still starting (systemctl stop or a deploy's restart during a
// slow boot) must leave nothing running: before the fix, start went on to open the admin API and the
// listeners after stop had returned, and the process never exited (systemd had to SIGKILL it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { BallastNode } from '../../cluster/node/daemon.js';
import { buildConfig } from '../../config/load.js';
import { freePort } from '../support/free-port.js';

function refuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

for (const clustered of [false, true]) {
  test(`stop during start (${clustered ? 'Raft member' : 'single node'}): start finishes, then everything it opened is closed`, { timeout: 120_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ballast-stop-start-'));
    try {
      const [admin, web, peer] = [await freePort(), await freePort(), await freePort()];
      const raw = {
        node: { id: 'n1', dataDir, adminListen: `127.0.0.1:${admin}`, workers: 1, ...(clustered ? { clusterListen: `127.0.0.1:${peer}` } : {}) },
        ...(clustered
          ? { cluster: { secret: 'stop-during-start', peers: [{ id: 'n1', address: `127.0.0.1:${peer}` }, { id: 'n2', address: '127.0.0.1:9' }, { id: 'n3', address: '127.0.0.1:9' }] } }
          : {}),
        bootstrap: { listeners: [{ name: 'web', mode: 'http', bind: `127.0.0.1:${web}`, routes: [{ pathPrefix: '/', pool: 'p' }] }], pools: [{ name: 'p', backends: [] }] },
      };
      const node = new BallastNode({ config: buildConfig(raw, join(dataDir, 'inline.yaml')), logger: pino({ level: 'silent' }), drainMs: 1000 });
      const started = node.start();
      await node.stop();
      await started;
      // Whatever start opened after stop was called would show up now.
      await sleep(500);
      assert.equal(await refuses(admin), true, 'the admin API is closed');
      assert.equal(await refuses(web), true, 'the listener is closed');
      if (clustered) assert.equal(await refuses(peer), true, 'the peer transport is closed');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
}
