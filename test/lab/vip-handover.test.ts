// The linux driver on the lab: the VIP moves from n1 to n2 and the client follows at once, because the
// gratuitous ARP overwrites the client's still-fresh ARP entry for n1.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import { pino } from 'pino';
import { netnsRunner } from '../../cluster/vip/command-runner.js';
import { runnerInterfaces } from '../../cluster/vip/interfaces.js';
import { LinuxVipDriver } from '../../cluster/vip/linux-driver.js';
import { namespacesUnavailable } from '../../scripts/lab/netns.js';
import { httpGetIn } from '../../scripts/lab/probe.js';
import { execIn, labDown, labUp, spawnIn, vipHolders } from '../../scripts/lab/topology.js';
import type { LabHost } from '../../scripts/lab/types.js';

const unavailable = await namespacesUnavailable();
if (unavailable !== null) console.log(`VIP handover lab test skipped: ${unavailable}`);

const prefix = `blh${process.pid % 100000}`;
const logger = pino({ level: process.env['BALLAST_LOG_LEVEL'] ?? 'warn' });
const children: ChildProcess[] = [];

after(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  if (unavailable === null) await labDown({ prefix });
});

/** An HTTP server on every address of `host` (so also on the VIP once it arrives) that names the host. */
async function serve(host: LabHost, port: number): Promise<number> {
  const source = `
    const server = require('node:http').createServer((req, res) => res.end(process.argv[1]));
    server.listen(Number(process.argv[2]), '0.0.0.0', () => console.log(server.address().port));`;
  const child = spawnIn(host.ns, process.execPath, ['-e', source, host.name, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const lines = createInterface({ input: child.stdout! });
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  try {
    const [line] = (await once(lines, 'line')) as [string];
    return Number(line);
  } finally {
    clearTimeout(timer);
    lines.close();
  }
}

function driverOn(host: LabHost, vip: string): LinuxVipDriver {
  const runner = netnsRunner(host.ns);
  return new LinuxVipDriver({
    address: vip,
    interface: host.iface,
    runner,
    interfaces: runnerInterfaces(runner),
    logger,
    garp: { repeats: 1, delayMs: 1000, count: 1 },
  });
}

test('VIP handover n1 -> n2: the client reaches n2 through the VIP right after acquire', { skip: unavailable ?? false, timeout: 90_000 }, async () => {
  const lab = await labUp({ prefix });
  const [n1, n2] = lab.nodes as [LabHost, LabHost];
  const port = await serve(n1, 0);
  assert.equal(await serve(n2, port), port);
  const url = `http://198.18.0.100:${port}/`;

  const vip1 = driverOn(n1, lab.vip);
  const vip2 = driverOn(n2, lab.vip);
  await vip1.check();
  await vip2.check();

  await vip1.acquire();
  assert.equal((await httpGetIn(lab.client.ns, url, 3000)).body, 'n1');
  const { stdout: before } = await execIn(lab.client.ns, 'ip', ['neigh', 'show', '198.18.0.100']);
  assert.match(before, /REACHABLE|STALE|DELAY/, `the client has an ARP entry for the VIP: ${before}`);

  await vip1.release();
  const moved = Date.now();
  await vip2.acquire();
  assert.deepEqual(await vipHolders(lab.vip, { prefix }), [n2.ns]);
  // A few bounded tries: the first gratuitous ARP leaves n2 within milliseconds of acquire.
  let body = '';
  for (let i = 0; i < 5 && body !== 'n2'; i++) body = await httpGetIn(lab.client.ns, url, 1000).then((r) => r.body, () => '');
  const reachedMs = Date.now() - moved;
  assert.equal(body, 'n2');
  assert.ok(reachedMs < 5000, `client reached n2 ${reachedMs} ms after the handover`);
  console.log(`client served by n2 ${reachedMs} ms after n1 released and n2 acquired (incl. one node startup for the request)`);

  await vip2.release();
  await vip1.whenAnnounced();
  await vip2.whenAnnounced();
  assert.deepEqual(await vipHolders(lab.vip, { prefix }), []);
});
