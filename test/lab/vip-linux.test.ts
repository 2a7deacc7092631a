// The linux VIP driver against real namespaces: the address appears and goes, a neighbour's stale ARP
// entry is corrected by the gratuitous ARP (and again by the repeat), release silences the repeat.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { hostRunner, netnsRunner } from '../../cluster/vip/command-runner.js';
import { isVipError } from '../../cluster/vip/errors.js';
import { runnerInterfaces } from '../../cluster/vip/interfaces.js';
import { LinuxVipDriver } from '../../cluster/vip/linux-driver.js';
import type { CommandRunner, GarpOptions } from '../../cluster/vip/types.js';
import { ip } from '../../scripts/lab/netns.js';
import { linkedPairLab } from '../support/linked-pair.js';

let macA = '';
const { a: A, b: B, skip } = await linkedPairLab('VIP lab tests', 'blv', ['198.18.1.1/24', '198.18.1.2/24'], {
  setUp: async () => {
    const { stdout } = await ip(['-n', A, '-o', 'link', 'show', 'eth0']);
    macA = /link\/ether\s+(\S+)/.exec(stdout)?.[1] ?? '';
    assert.match(macA, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
  },
});
const VIP = '198.18.1.100/24';
const VIP_IP = '198.18.1.100';
const STALE_MAC = '02:00:00:00:00:01';
const logger = pino({ level: process.env['BALLAST_LOG_LEVEL'] ?? 'warn' });

/** The real runner into `ns`, with a hook that sees each command before it runs and counts arping completions. */
function observedRunner(ns: string, beforeRun?: (file: string, args: readonly string[]) => Promise<void>) {
  const inner = netnsRunner(ns);
  const seen = { arpingStarted: 0, arpingDone: 0 };
  const runner: CommandRunner = {
    where: inner.where,
    async run(file, args, options) {
      if (file === 'arping') seen.arpingStarted++;
      await beforeRun?.(file, args);
      try {
        return await inner.run(file, args, options);
      } finally {
        if (file === 'arping') seen.arpingDone++;
      }
    },
  };
  return { runner, seen };
}

function driver(runner: CommandRunner, garp: Partial<GarpOptions>, iface = 'eth0'): LinuxVipDriver {
  return new LinuxVipDriver({ address: VIP, interface: iface, runner, interfaces: runnerInterfaces(runner), logger, garp });
}

async function vipCountIn(ns: string): Promise<number> {
  const { stdout } = await ip(['-n', ns, '-o', '-4', 'addr', 'show']);
  return stdout.split('\n').filter((line) => line.includes(` ${VIP_IP}/`)).length;
}

async function neighMac(ns: string): Promise<string | null> {
  const { stdout } = await ip(['-n', ns, 'neigh', 'show', VIP_IP, 'dev', 'eth0']);
  return /lladdr\s+(\S+)/.exec(stdout)?.[1] ?? null;
}

/** Plants a wrong, non-permanent entry, as if the VIP still pointed at a dead node. */
async function poisonNeighbour(): Promise<void> {
  await ip(['-n', B, 'neigh', 'replace', VIP_IP, 'lladdr', STALE_MAC, 'dev', 'eth0', 'nud', 'stale']);
  assert.equal(await neighMac(B), STALE_MAC);
}

async function waitForNeighMac(mac: string, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  for (let i = 0; i < 200 && Date.now() < deadline; i++) {
    if ((await neighMac(B)) === mac) return true;
    await sleep(50);
  }
  return false;
}

test('acquire puts the VIP on A and its gratuitous ARP corrects B\'s stale entry, twice', { skip, timeout: 60_000 }, async () => {
  await poisonNeighbour();
  // Before the repeat round starts, put the stale entry back: only the repeat can fix it again.
  const { runner, seen } = observedRunner(A, async (file) => {
    if (file === 'arping' && seen.arpingStarted === 3) await poisonNeighbour();
  });
  const vip = driver(runner, { repeats: 1, delayMs: 300, count: 1 });
  await vip.check();
  assert.equal(await vip.held(), false);

  const started = Date.now();
  await vip.acquire();
  const acquireMs = Date.now() - started;
  assert.equal(await vipCountIn(A), 1, 'ip -n A addr shows the VIP');
  assert.equal(await vip.held(), true);
  assert.ok(await waitForNeighMac(macA, 5000), `B learned ${macA} for the VIP (has ${await neighMac(B)})`);

  await vip.whenAnnounced();
  assert.equal(seen.arpingDone, 4, '-U and -A, then both again');
  assert.equal(await neighMac(B), macA, 'the repeated round corrected the re-planted stale entry');
  console.log(`acquire returned in ${acquireMs} ms (address added; announcements continue in the background)`);

  await vip.acquire();
  assert.equal(await vipCountIn(A), 1, 'acquire twice leaves one address');
  assert.equal(seen.arpingStarted, 4, 'and does not announce again');
  assert.equal(await vipCountIn(B), 0, 'B never got the VIP');

  await vip.release();
  assert.equal(await vipCountIn(A), 0, 'release removed it');
  assert.equal(await vip.held(), false);
  await vip.release();
});

test('release during the delay cancels the repeated announcement', { skip, timeout: 60_000 }, async () => {
  const { runner, seen } = observedRunner(A);
  const vip = driver(runner, { repeats: 2, delayMs: 20_000, count: 1 });
  await vip.acquire();
  for (let i = 0; i < 100 && seen.arpingDone < 2; i++) await sleep(50);
  assert.equal(seen.arpingDone, 2, 'first round finished');
  const released = Date.now();
  await vip.release();
  await vip.whenAnnounced();
  assert.ok(Date.now() - released < 5000, 'the schedule ended at once, not after the 20 s delay');
  assert.equal(seen.arpingStarted, 2);
  assert.equal(await vipCountIn(A), 0);
});

test('release mid-arping kills it', { skip, timeout: 60_000 }, async () => {
  const { runner, seen } = observedRunner(A);
  // count 10: arping would run ~10 s.
  const vip = driver(runner, { repeats: 0, delayMs: 0, count: 10 });
  await vip.acquire();
  for (let i = 0; i < 100 && seen.arpingStarted < 1; i++) await sleep(20);
  await sleep(200);
  const released = Date.now();
  await vip.release();
  await vip.whenAnnounced();
  assert.ok(Date.now() - released < 5000, `announcement stopped within bounds (${Date.now() - released} ms)`);
  assert.equal(seen.arpingStarted, 1, 'the -A call never started');
  // The killed arping may take a moment to be reaped on a loaded box.
  let left = '';
  for (let i = 0; i < 40; i++) {
    left = (await hostRunner().run('ip', ['netns', 'pids', A])).stdout.trim();
    if (left === '') break;
    await sleep(50);
  }
  assert.equal(left, '', 'no arping left running in A');
});

test('a missing interface fails check() with the interfaces that do exist, and acquire with the same code', { skip, timeout: 60_000 }, async () => {
  const runner = netnsRunner(A);
  const vip = driver(runner, {}, 'eth9');
  await assert.rejects(vip.check(), (err: unknown) => {
    assert.ok(isVipError(err, 'VIP_ERR_NO_INTERFACE'));
    assert.equal(err.message, `VIP_ERR_NO_INTERFACE: interface "eth9" does not exist on netns ${A}; interfaces: lo, eth0`);
    return true;
  });
  await assert.rejects(vip.acquire(), (err: unknown) => isVipError(err, 'VIP_ERR_NO_INTERFACE'));
  await assert.rejects(vip.held(), (err: unknown) => isVipError(err, 'VIP_ERR_NO_INTERFACE'));
});

test('defaults inside a namespace (as a lab node runs): systeminformation sees eth0, execFile runs ip', { skip, timeout: 60_000 }, async () => {
  // A node started with spawnIn uses no runner and no lister: both must see the namespace it runs in.
  const driverUrl = new URL('../../cluster/vip/linux-driver.ts', import.meta.url).href;
  const source = `
    const { pino } = await import('pino');
    const { LinuxVipDriver } = await import(${JSON.stringify(driverUrl)});
    const vip = new LinuxVipDriver({ address: '${VIP}', interface: 'eth0', logger: pino({ level: 'silent' }), garp: { repeats: 0, count: 1 } });
    await vip.check();
    await vip.acquire();
    const held = await vip.held();
    await vip.release();
    const missing = await new LinuxVipDriver({ address: '${VIP}', interface: 'eth9', logger: pino({ level: 'silent' }) }).check().catch((e) => e.message);
    console.log(JSON.stringify({ held, after: await vip.held(), missing }));`;
  const { stdout } = await hostRunner().run('ip', ['netns', 'exec', A, process.execPath, '--import', 'tsx', '--input-type=module', '-e', source], {
    timeoutMs: 30_000,
  });
  assert.deepEqual(JSON.parse(stdout), {
    held: true,
    after: false,
    missing: 'VIP_ERR_NO_INTERFACE: interface "eth9" does not exist on this host; interfaces: lo, eth0',
  });
});

test('the root namespace never saw a lab address or route', { skip }, async () => {
  const host = hostRunner();
  assert.doesNotMatch((await host.run('ip', ['-o', 'addr', 'show'])).stdout, /198\.1[89]\./);
  assert.doesNotMatch((await host.run('ip', ['route', 'show', 'table', 'all'])).stdout, /198\.1[89]\./);
});
