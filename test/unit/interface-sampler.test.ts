// The interface sampler on this machine's real interfaces: loopback with its address, up, and a byte
// rate that sees traffic sent between two readings; and it starts no process (systeminformation's
// listing ran twenty commands per interface through execSync on the Raft process).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { createServer, connect, type AddressInfo } from 'node:net';

// Every way to start a process counts, patched before the sampler (and whatever it imports) is loaded:
// libraries such as systeminformation keep their own reference to execSync from load time.
const childProcess = createRequire(import.meta.url)('node:child_process') as Record<string, unknown>;
const started: string[] = [];
for (const n of ['exec', 'execSync', 'execFile', 'execFileSync', 'spawn', 'spawnSync', 'fork']) {
  const original = childProcess[n] as (...args: unknown[]) => unknown;
  childProcess[n] = (...args: unknown[]) => {
    started.push(`${n} ${String(args[0]).slice(0, 80)}`);
    return original(...args);
  };
}
const { InterfaceSampler } = await import('../../cluster/node/interface-sampler.js');

const linux = process.platform === 'linux';

test('loopback: address, link up, and a byte rate once there are two readings', { skip: linux ? false : 'reads /sys/class/net' }, async () => {
  const sampler = new InterfaceSampler();
  const first = await sampler.read(Date.now());
  const lo = first.find((i) => i.name === 'lo');
  assert.ok(lo, JSON.stringify(first));
  assert.equal(lo.ip4, '127.0.0.1');
  assert.equal(lo.up, true);
  assert.equal(lo.rxBytesPerSec, null, 'no rate from a single reading');

  // 4 MiB through loopback between the readings.
  const server = createServer((s) => s.resume());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const sock = connect((server.address() as AddressInfo).port, '127.0.0.1');
  await once(sock, 'connect');
  await new Promise<void>((resolve) => sock.end(Buffer.alloc(4 * 1024 * 1024), () => resolve()));
  await once(sock, 'close');
  server.close();

  const second = await sampler.read(Date.now() + 1000);
  const lo2 = second.find((i) => i.name === 'lo')!;
  assert.ok(lo2.rxBytesPerSec !== null && lo2.rxBytesPerSec >= 4 * 1024 * 1024 * 0.9, `rx rate ${lo2.rxBytesPerSec}`);
  assert.ok(lo2.txBytesPerSec !== null && lo2.txBytesPerSec > 0);
});

test('reading interfaces starts no process', async () => {
  const sampler = new InterfaceSampler();
  await sampler.read(Date.now());
  await sampler.read(Date.now() + 1000);
  assert.deepEqual(started, []);
});
