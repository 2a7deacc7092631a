// What takes the VIP off a host whose daemon is gone, as real processes inside a namespace: the daemon's
// stop record and bin/ballast-release-vip (systemd's ExecStopPost) reading it, and the manual
// `ballast release-vip --config`. Each removes the VIP and a SYN gate a dead daemon left, says so, is
// harmless when run again, and handles what an operator can get wrong.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { netnsRunner } from '../../cluster/vip/command-runner.js';
import { runnerInterfaces } from '../../cluster/vip/interfaces.js';
import { LinuxVipDriver } from '../../cluster/vip/linux-driver.js';
import { SYN_GATE_PREF } from '../../cluster/vip/syn-gate.js';
import { execIn, ip } from '../../scripts/lab/netns.js';
import { linkedPairLab, startDaemonIn } from '../support/linked-pair.js';

const { a: A, skip } = await linkedPairLab('release-vip lab tests', 'blr', ['198.18.3.1/24', '198.18.3.2/24']);
const VIP_IP = '198.18.3.100';
const CLI = join(import.meta.dirname, '../../cli/ballast.ts');
const STOP_POST = join(import.meta.dirname, '../../bin/ballast-release-vip');
const dir = mkdtempSync(join(tmpdir(), 'ballast-release-vip-'));

function configFile(name: string, vip: Record<string, unknown> | null, extra: Record<string, unknown> = {}): string {
  const config = {
    node: { id: 'n1', dataDir: join(dir, 'data'), adminListen: '127.0.0.1:0', clusterListen: '127.0.0.1:7101' },
    cluster: {
      secret: 'release-vip-secret',
      peers: ['n1', 'n2', 'n3'].map((id, i) => ({ id, address: `127.0.0.1:${7101 + i}` })),
      ...(vip ? { vip } : {}),
      ...extra,
    },
  };
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify(config));
  return path;
}

async function releaseVip(config: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await execIn(A, process.execPath, ['--import', 'tsx', CLI, 'release-vip', '--config', config], { timeoutMs: 60_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: unknown; exitCode?: unknown; stdout?: string; stderr?: string };
    const code = typeof e.exitCode === 'number' ? e.exitCode : typeof e.code === 'number' ? e.code : -1;
    return { code, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) };
  }
}

async function vipOnA(): Promise<boolean> {
  const { stdout } = await ip(['-n', A, '-o', '-4', 'addr', 'show', 'dev', 'eth0']);
  return stdout.includes(` ${VIP_IP}/`);
}

/** systemd's ExecStopPost as systemd runs it: RUNTIME_DIRECTORY set, no arguments. */
async function stopPost(runtimeDir: string): Promise<{ stdout: string; stderr: string }> {
  return execIn(A, 'env', [`RUNTIME_DIRECTORY=${runtimeDir}`, STOP_POST], { timeoutMs: 30_000 });
}

/** What a daemon killed mid-move leaves: the address (here with a prefix other than the configured one), and the gate. */
async function leaveVipAndGate(cidr: string): Promise<boolean> {
  await ip(['-n', A, 'addr', 'add', cidr, 'dev', 'eth0']);
  const runner = netnsRunner(A);
  const crashed = new LinuxVipDriver({ address: `${VIP_IP}/24`, interface: 'eth0', runner, interfaces: runnerInterfaces(runner), logger: pino({ level: 'silent' }), garp: { repeats: 0, count: 1 } });
  const gated = await crashed.quiesce();
  assert.equal(await vipOnA(), true);
  if (!gated) console.log('this kernel takes no SYN filter: the gate part is not exercised');
  else assert.equal(await gateOnA(), true);
  return gated;
}

async function gateOnA(): Promise<boolean> {
  const { stdout } = await execIn(A, 'tc', ['filter', 'show', 'dev', 'eth0', 'ingress']);
  return stdout.includes(`pref ${SYN_GATE_PREF}`);
}

after(() => rmSync(dir, { recursive: true, force: true }));

test('the daemon writes its stop record; ExecStopPost reads it and takes the VIP and the gate off', { skip, timeout: 180_000 }, async () => {
  const runtimeDir = join(dir, 'run');
  mkdirSync(runtimeDir);
  const config = configFile('daemon', { driver: 'linux', address: `${VIP_IP}/24`, interface: 'eth0' });
  const daemon = startDaemonIn(A, config, runtimeDir, 'warn');
  const record = join(runtimeDir, 'vip');
  const deadline = Date.now() + 90_000;
  while (!existsSync(record) && daemon.child.exitCode === null && Date.now() < deadline) await sleep(100);
  daemon.child.kill('SIGTERM');
  await daemon.exited;
  assert.ok(existsSync(record), `the daemon wrote no ${record}: ${daemon.output()}`);
  assert.match(readFileSync(record, 'utf8'), new RegExp(`^VIP_CIDR=${VIP_IP.replaceAll('.', '\\.')}/24\nVIP_INTERFACE=eth0\nSYN_GATE_PREF=${SYN_GATE_PREF}$`, 'm'));

  // The daemon is gone (and its workers with it, as systemd's SIGKILL of the cgroup leaves things).
  const gated = await leaveVipAndGate(`${VIP_IP}/32`);
  const first = await stopPost(runtimeDir);
  assert.match(first.stdout, /the daemon is gone: released 198\.18\.3\.100\/32 from eth0/);
  assert.equal(await vipOnA(), false, 'the VIP is gone from the interface');
  if (gated) assert.equal(await gateOnA(), false, 'the SYN gate is gone too');

  const again = await stopPost(runtimeDir);
  assert.equal(again.stdout, '', 'nothing held, nothing said');
});

test('ExecStopPost: no record (no VIP, or not started that far) and a damaged one change nothing', { skip, timeout: 60_000 }, async () => {
  const empty = join(dir, 'run-empty');
  mkdirSync(empty);
  assert.deepEqual(await stopPost(empty), { stdout: '', stderr: '' });

  const damaged = join(dir, 'run-damaged');
  mkdirSync(damaged);
  writeFileSync(join(damaged, 'vip'), 'VIP_CIDR=\n');
  await ip(['-n', A, 'addr', 'add', `${VIP_IP}/24`, 'dev', 'eth0']);
  try {
    const r = await stopPost(damaged);
    assert.match(r.stderr, /names no VIP_CIDR\/VIP_INTERFACE; nothing released/);
    assert.equal(await vipOnA(), true, 'a record it cannot read makes it touch nothing');
  } finally {
    await ip(['-n', A, 'addr', 'del', `${VIP_IP}/24`, 'dev', 'eth0']);
  }
});

test('release-vip removes the VIP and the SYN gate a dead daemon left, then finds nothing to do', { skip, timeout: 180_000 }, async () => {
  await leaveVipAndGate(`${VIP_IP}/24`);
  const config = configFile('linux', { driver: 'linux', address: `${VIP_IP}/24`, interface: 'eth0' });
  const first = await releaseVip(config);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /198\.18\.3\.100\/24 on eth0 released/);
  assert.equal(await vipOnA(), false, 'the VIP is gone from the interface');
  assert.equal(await gateOnA(), false, 'the SYN gate is gone too');

  const again = await releaseVip(config);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /was not held/);
});

test('release-vip: no VIP configured, a missing interface and a bad config', { skip, timeout: 180_000 }, async () => {
  const none = await releaseVip(configFile('none', null));
  assert.equal(none.code, 0, none.stderr);
  assert.match(none.stdout, /no cluster\.vip/);

  const missing = await releaseVip(configFile('missing', { driver: 'linux', address: `${VIP_IP}/24`, interface: 'eth9' }));
  assert.equal(missing.code, 0, missing.stderr);
  assert.match(missing.stderr, /eth9.*check cluster\.vip\.interface/);

  const bad = await releaseVip(configFile('bad', { driver: 'linux', address: 'not-an-address', interface: 'eth0' }));
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /invalid config .*cluster\.vip\.address/);
});
