// The failover drill against the appliance image itself (npm run drill:vms): three VMs under TCG on a
// bridge in a namespace, SIGKILL of the leader's daemon and the leader's VM powered off. Slow (many
// minutes under TCG): `npm run test:image` only. Skips, saying why, without an image or without root.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { replyMacs } from '../../scripts/image/arp-watch.js';

const root = resolve(import.meta.dirname, '../..');
const image = process.env['BALLAST_IMAGE'] ?? resolve(root, 'packer/output/image/ballast.qcow2');
const skip = !existsSync(image)
  ? `no image at ${image} (npm run image builds it)`
  : process.getuid?.() !== 0
    ? 'needs root (network namespaces, taps)'
    : !existsSync('/usr/bin/qemu-system-x86_64')
      ? 'qemu-system-x86_64 is not installed (scripts/image/install-deps.sh)'
      : false;

test('arping reply lines -> distinct MACs', () => {
  const out = 'ARPING 198.18.0.100\nUnicast reply from 198.18.0.100 [52:54:00:18:00:11]  1.1ms\nUnicast reply from 198.18.0.100 [52:54:00:18:00:12]  1.3ms\nUnicast reply from 198.18.0.100 [52:54:00:18:00:11]  0.9ms\nSent 5 probes\n';
  assert.deepEqual(replyMacs(out), ['52:54:00:18:00:11', '52:54:00:18:00:12']);
  assert.deepEqual(replyMacs('Sent 5 probes (5 broadcast(s))\nReceived 0 response(s)\n'), []);
});

interface Scenario {
  name: string;
  drill: { newLeader: string | null; recovered: boolean; clientGapMs: number };
  arpTakeoverMs: number | null;
  dualAnswers: number;
  arpProbes: number;
  arpFailed: number;
}

test('drill on three image VMs: a new leader takes the VIP, the client recovers, the VIP never answers from two VMs', { skip, timeout: 60 * 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'drill-vms-test-'));
  try {
    const reportPath = join(dir, 'report.json');
    const child = spawn('bash', [join(root, 'scripts/image/drill-vms.sh'), image], {
      env: { ...process.env, DRILL_PREFIX: `bvt${process.pid % 1000}`, DRILL_REPORT: reportPath },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const [code] = (await once(child, 'exit')) as [number | null];
    const report = JSON.parse(await readFile(reportPath, 'utf8')) as { scenarios?: Scenario[]; error?: string };
    assert.equal(report.error, undefined);
    const scenarios = report.scenarios ?? [];
    assert.equal(scenarios.length, 2);
    for (const s of scenarios) {
      assert.ok(s.drill.newLeader !== null, `${s.name}: no new leader`);
      assert.ok(s.drill.recovered, `${s.name}: the client did not recover`);
      assert.ok(s.arpTakeoverMs !== null, `${s.name}: the VIP never answered from another VM`);
      assert.ok(s.arpProbes > 0 && s.arpFailed === 0, `${s.name}: ${s.arpProbes} ARP probes ran, ${s.arpFailed} failed`);
      assert.equal(s.dualAnswers, 0, `${s.name}: the VIP answered from two VMs in ${s.dualAnswers} probe(s)`);
    }
    assert.equal(code, 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
