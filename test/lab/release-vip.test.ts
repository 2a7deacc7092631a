// `ballast release-vip` (systemd's ExecStopPost) as a real process inside a namespace: it removes a VIP
// and a SYN gate a dead daemon left behind, says so, is harmless when run again, and refuses a bad config.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { netnsRunner } from '../../cluster/vip/command-runner.js';
import { runnerInterfaces } from '../../cluster/vip/interfaces.js';
import { LinuxVipDriver } from '../../cluster/vip/linux-driver.js';
import { SYN_GATE_PREF } from '../../cluster/vip/syn-gate.js';
import { addLinkedPair, deleteNamespace, execIn, ip, namespacesUnavailable } from '../../scripts/lab/netns.js';

const unavailable = await namespacesUnavailable();
if (unavailable !== null) console.log(`release-vip lab tests skipped: ${unavailable}`);
const skip = unavailable ?? false;

const A = `blr${process.pid % 100000}-a`;
const B = `blr${process.pid % 100000}-b`;
const VIP_IP = '198.18.3.100';
const CLI = join(import.meta.dirname, '../../cli/ballast.ts');
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

async function gateOnA(): Promise<boolean> {
  const { stdout } = await execIn(A, 'tc', ['filter', 'show', 'dev', 'eth0', 'ingress']);
  return stdout.includes(`pref ${SYN_GATE_PREF}`);
}

before(async () => {
  if (unavailable !== null) return;
  await addLinkedPair(A, B, ['198.18.3.1/24', '198.18.3.2/24']);
});

after(async () => {
  if (unavailable !== null) return;
  await deleteNamespace(A).catch(() => undefined);
  await deleteNamespace(B).catch(() => undefined);
});

test('release-vip removes the VIP and the SYN gate a dead daemon left, then finds nothing to do', { skip, timeout: 180_000 }, async () => {
  // What a daemon killed mid-move leaves: the address, and the gate of a hand-over it never finished.
  await ip(['-n', A, 'addr', 'add', `${VIP_IP}/24`, 'dev', 'eth0']);
  const runner = netnsRunner(A);
  const crashed = new LinuxVipDriver({ address: `${VIP_IP}/24`, interface: 'eth0', runner, interfaces: runnerInterfaces(runner), logger: pino({ level: 'silent' }), garp: { repeats: 0, count: 1 } });
  const gated = await crashed.quiesce();
  assert.equal(await vipOnA(), true);
  if (!gated) console.log('this kernel takes no SYN filter: the gate part is not exercised');
  else assert.equal(await gateOnA(), true);

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
