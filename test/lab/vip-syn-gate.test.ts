// The linux VIP driver's SYN gate against real namespaces and the real kernel: while quiesced, a new
// connection to the VIP is neither accepted nor refused (its SYN is dropped) while an established one
// keeps flowing; release, unquiesce and acquire (after a crash mid-move) all lift it; the kernel's
// pending-connection count sees an unaccepted connection; a kernel without the filter falls back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { netnsRunner } from '../../cluster/vip/command-runner.js';
import { VipError } from '../../cluster/vip/errors.js';
import { runnerInterfaces } from '../../cluster/vip/interfaces.js';
import { LinuxVipDriver } from '../../cluster/vip/linux-driver.js';
import { SYN_GATE_PREF } from '../../cluster/vip/syn-gate.js';
import type { CommandRunner } from '../../cluster/vip/types.js';
import { execIn, ip, spawnIn } from '../../scripts/lab/netns.js';
import { linkedPairLab } from '../support/linked-pair.js';

const children: ChildProcess[] = [];
const { a: A, b: B, skip } = await linkedPairLab('SYN gate lab tests', 'blg', ['198.18.2.1/24', '198.18.2.2/24'], {
  tearDown: async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await Promise.all(children.map(async (c) => (c.exitCode === null && c.signalCode === null ? once(c, 'exit') : undefined)));
  },
});
const VIP = '198.18.2.100/24';
const VIP_IP = '198.18.2.100';
const logger = pino({ level: process.env['BALLAST_LOG_LEVEL'] ?? 'warn' });

function driver(runner: CommandRunner = netnsRunner(A)): LinuxVipDriver {
  return new LinuxVipDriver({ address: VIP, interface: 'eth0', runner, interfaces: runnerInterfaces(runner), logger, garp: { repeats: 0, count: 1 } });
}

async function gateInKernel(): Promise<boolean> {
  const { stdout } = await execIn(A, 'tc', ['filter', 'show', 'dev', 'eth0', 'ingress']);
  return stdout.includes(`pref ${SYN_GATE_PREF}`);
}

/** A line-speaking child in `ns`: writes JSON lines, we read them as they come. */
function child(ns: string, source: string, args: string[] = []) {
  const proc = spawnIn(ns, process.execPath, ['-e', source, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(proc);
  const lines: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  createInterface({ input: proc.stdout! }).on('line', (l) => {
    lines.push(JSON.parse(l) as Record<string, unknown>);
    for (const w of waiters.splice(0)) w();
  });
  return {
    lines,
    send: (text: string) => proc.stdin!.write(`${text}\n`),
    async waitFor(match: (l: Record<string, unknown>) => boolean, ms: number): Promise<Record<string, unknown> | null> {
      const deadline = Date.now() + ms;
      for (let i = 0; i < 1000 && Date.now() < deadline; i++) {
        const hit = lines.find(match);
        if (hit) return hit;
        await Promise.race([new Promise<void>((r) => waiters.push(r)), sleep(Math.max(1, deadline - Date.now()))]);
      }
      return lines.find(match) ?? null;
    },
  };
}

// Echo server on every address of A, port 8080.
const ECHO = `require('node:net').createServer((s) => s.on('data', (d) => s.write(d))).listen(8080, '0.0.0.0', () => console.log('{"listening":true}'));`;

// In B: one connection opened at once ("a"), a second one opened on the "connect" line ("b"), every event timed.
const CLIENT = `
const net = require('node:net');
const t0 = Date.now(), say = (o) => console.log(JSON.stringify({ ...o, at: Date.now() - t0 }));
const open = (name) => {
  const s = net.connect(8080, '${VIP_IP}', () => say({ ev: 'connected', name }));
  s.on('data', (d) => say({ ev: 'data', name, text: String(d) }));
  s.on('error', (e) => say({ ev: 'error', name, code: e.code }));
  return s;
};
const a = open('a');
let b = null;
require('node:readline').createInterface({ input: process.stdin }).on('line', (l) => {
  if (l === 'connect') b = open('b');
  else if (l.startsWith('write ')) a.write(l.slice(6));
  else if (l === 'exit') process.exit(0);
});`;

test('quiesced: a new connection is held off (not refused) while an established one flows; unquiesce lets the resent SYN in', { skip, timeout: 60_000 }, async () => {
  const vip = driver();
  await vip.acquire();
  const server = child(A, ECHO);
  assert.ok(await server.waitFor((l) => l['listening'] === true, 10_000), 'echo server listening in A');
  const client = child(B, CLIENT);
  assert.ok(await client.waitFor((l) => l['ev'] === 'connected' && l['name'] === 'a', 10_000), 'first connection established');

  assert.equal(await vip.quiesce(), true, 'the gate went up');
  assert.equal(await gateInKernel(), true, `tc shows a filter at pref ${SYN_GATE_PREF}`);
  assert.equal(await vip.quiesced(), true);
  const gatedAt = Date.now();
  client.send('connect');
  client.send('write during');
  assert.ok(await client.waitFor((l) => l['ev'] === 'data' && l['text'] === 'during', 5000), 'the established connection still echoes');
  // Held for 700 ms (below the 1 s SYN resend): neither connected nor refused.
  await sleep(Math.max(0, 700 - (Date.now() - gatedAt)));
  assert.deepEqual(client.lines.filter((l) => l['name'] === 'b'), [], 'the new connection neither connected nor failed');

  await vip.unquiesce();
  assert.equal(await gateInKernel(), false, 'unquiesce removed the filter');
  const b = await client.waitFor((l) => l['name'] === 'b', 8000);
  assert.equal(b?.['ev'], 'connected', `the resent SYN got through: ${JSON.stringify(b)}`);
  console.log(`new connection held off while quiesced, connected ${Number(b?.['at']) - Number(client.lines.find((l) => l['name'] === 'a')?.['at'])} ms after the first (kernel SYN resend)`);
  await vip.unquiesce();
  client.send('exit');
  await vip.release();
});

test('quiesce is refused when the VIP is not held here, and release lifts the gate after dropping the address', { skip, timeout: 60_000 }, async () => {
  const vip = driver();
  assert.equal(await vip.held(), false);
  assert.equal(await vip.quiesce(), false, 'no VIP here: nothing to hold off');
  assert.equal(await gateInKernel(), false);

  await vip.acquire();
  assert.equal(await vip.quiesce(), true);
  assert.equal(await vip.quiesce(), true, 'quiesce twice leaves one filter');
  const { stdout } = await execIn(A, 'tc', ['filter', 'show', 'dev', 'eth0', 'ingress']);
  assert.equal(stdout.split('\n').filter((l) => l.includes('handle')).length, 1, `one filter: ${stdout}`);
  await vip.release();
  assert.equal(await vip.held(), false);
  assert.equal(await vip.quiesced(), false, 'release lifted the gate (queued behind the address removal)');
  assert.equal(await gateInKernel(), false);
});

test('a gate left by a crash mid-move is removed by a new instance: by release at startup, and by acquire before raising', { skip, timeout: 60_000 }, async () => {
  const crashed = driver();
  await crashed.acquire();
  assert.equal(await crashed.quiesce(), true);
  // kill -9 here: the address and the gate stay. The restarted node releases at startup.
  const restarted = driver();
  await restarted.release();
  assert.equal(await restarted.quiesced(), false, 'startup release removed the stale gate');
  assert.equal(await gateInKernel(), false);
  assert.equal(await restarted.held(), false);

  // A gate without the address (killed between the two steps of a release): raising must not keep it.
  await crashed.acquire();
  assert.equal(await crashed.quiesce(), true);
  await ip(['-n', A, 'addr', 'del', VIP, 'dev', 'eth0']);
  assert.equal(await gateInKernel(), true);
  const leader = driver();
  await leader.acquire();
  assert.equal(await gateInKernel(), false, 'acquire removed the gate before raising the VIP');
  assert.equal(await leader.held(), true);
  await leader.release();
});

test('pendingConnections counts a connection no process has accepted yet', { skip, timeout: 60_000 }, async () => {
  const vip = driver();
  await vip.acquire();
  // Listens, then blocks its event loop: the kernel completes handshakes and queues them, nobody accepts.
  const server = child(
    A,
    `require('node:net').createServer().listen(8081, '0.0.0.0', () => { console.log('{"listening":true}'); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 15000); });`,
  );
  assert.ok(await server.waitFor((l) => l['listening'] === true, 10_000));
  assert.equal(await vip.pendingConnections(), 0, 'nothing pending before');
  const client = child(B, `require('node:net').connect(8081, '${VIP_IP}', () => console.log('{"connected":true}'));`);
  assert.ok(await client.waitFor((l) => l['connected'] === true, 10_000), 'the kernel completed the handshake');
  const pending = await vip.pendingConnections();
  assert.ok(pending >= 1, `the kernel holds it for the listener: ${pending}`);
  await vip.release();
});

test('a kernel that takes no SYN filter: quiesce reports false (the move goes ahead the old way) and the VIP still works', { skip, timeout: 60_000 }, async () => {
  const real = netnsRunner(A);
  // The real runner, except that the kernel "has" neither cls_bpf nor flower/gact.
  const noFilters: CommandRunner = {
    where: real.where,
    run(file, args, options) {
      if (file === 'tc' && args[0] === 'filter' && (args[1] === 'add' || args[1] === 'replace')) {
        return Promise.reject(new VipError('VIP_ERR_COMMAND_FAILED', 'tc filter replace failed (exit 2)', { stderr: 'Error: TC classifier not found.', exitCode: 2 }));
      }
      return real.run(file, args, options);
    },
  };
  const vip = driver(noFilters);
  await vip.acquire();
  assert.equal(await vip.quiesce(), false);
  assert.equal(await gateInKernel(), false);
  assert.equal(await vip.held(), true);
  await vip.release();
  assert.equal(await vip.held(), false);
});
