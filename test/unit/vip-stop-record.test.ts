// The VIP stop record the daemon leaves for systemd's ExecStopPost: written whole where
// RUNTIME_DIRECTORY says, removed when there is no Linux VIP to release, nothing outside systemd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runtimeDirectory, writeStopRecord } from '../../cluster/vip/stop-record.js';
import { SYN_GATE_PREF } from '../../cluster/vip/syn-gate.js';

test('runtimeDirectory: systemd first directory, or null outside systemd', () => {
  assert.equal(runtimeDirectory({}), null);
  assert.equal(runtimeDirectory({ RUNTIME_DIRECTORY: '/run/ballast' }), '/run/ballast');
  assert.equal(runtimeDirectory({ RUNTIME_DIRECTORY: '/run/ballast:/run/other' }), '/run/ballast');
});

test('writeStopRecord: the record for a linux VIP, gone again for noop or no VIP, nothing without a directory', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ballast-stop-record-'));
  try {
    const vip = { address: '198.18.0.100/24', interface: 'eth0', driver: 'linux' };
    assert.equal(await writeStopRecord(null, vip), null);
    const path = await writeStopRecord(dir, vip);
    assert.equal(path, join(dir, 'vip'));
    const lines = readFileSync(path, 'utf8').split('\n');
    assert.ok(lines.includes('VIP_CIDR=198.18.0.100/24') && lines.includes('VIP_INTERFACE=eth0') && lines.includes(`SYN_GATE_PREF=${SYN_GATE_PREF}`));
    assert.deepEqual(readdirSync(dir), ['vip'], 'no temporary file left beside it');
    assert.equal(await writeStopRecord(dir, { ...vip, driver: 'noop' }), null);
    assert.equal(existsSync(path), false, 'a noop VIP leaves nothing for the script to release');
    await writeStopRecord(dir, vip);
    assert.equal(await writeStopRecord(dir, null), null);
    assert.equal(existsSync(path), false, 'a config without a VIP removes an older record');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
