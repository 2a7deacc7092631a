// Boots the built appliance image under qemu (TCG unless IMAGE_ACCEL=kvm) with a NoCloud seed and checks
// it over SSH: first-boot config from the seed, ballast.service active as `ballast` with NET_ADMIN +
// NET_RAW only, /readyz, sysctls, tools; then rolls the app tarball onto it with the deploy. One VM,
// minutes under TCG: `npm run test:image`, not part of `npm test`. Skips, saying why, without an image.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { rollingDeploy } from '../../scripts/deploy/rollout.js';
import { bootCheck } from '../../scripts/image/boot-check.js';

const root = resolve(import.meta.dirname, '../..');
const image = process.env['BALLAST_IMAGE'] ?? resolve(root, 'packer/output/image/ballast.qcow2');
const tarball = resolve(root, 'packer/output/app/ballast-app.tar.gz');
const skip = !existsSync(image)
  ? `no image at ${image} (npm run image builds it)`
  : !existsSync('/usr/bin/qemu-system-x86_64')
    ? 'qemu-system-x86_64 is not installed (scripts/image/install-deps.sh)'
    : false;

test('the appliance image boots, configures itself from the seed and serves; deploy over SSH onto it', { skip, timeout: 40 * 60_000 }, async () => {
  const report = await bootCheck({
    image,
    accelerator: process.env['IMAGE_ACCEL'] === 'kvm' ? 'kvm' : 'tcg',
    log: (line) => process.stderr.write(`boot: ${line}\n`),
    then: async (_vm, host) => {
      if (!existsSync(tarball)) return [];
      const r = await rollingDeploy({
        tarball,
        targets: [{ host, installDir: '/opt/ballast', configPath: '/etc/ballast/ballast.yaml', restart: ['systemctl', 'restart', 'ballast'] }],
        nodeTimeoutMs: 600_000,
      });
      return [{ name: 'deploy', ok: r.steps.length === 1 && r.steps[0]!.outcome === 'updated', detail: JSON.stringify(r.steps) }];
    },
  });
  const failed = report.checks.filter((c) => !c.ok);
  assert.deepEqual(failed, [], failed.map((c) => `${c.name}: ${c.detail}`).join('\n'));
  assert.ok(report.readyMs !== null);
});
