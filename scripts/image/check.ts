// `npm run image:check`: boots packer/output/image/ballast.qcow2 under qemu (one VM, TCG by default) and
// checks it over SSH; with the app tarball present, also rolls it onto the VM with the deploy (systemd path).
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { rollingDeploy } from '../deploy/rollout.js';
import { bootCheck } from './boot-check.js';
import type { CheckResult } from './boot-check.js';

const root = resolve(import.meta.dirname, '../..');

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      image: { type: 'string', default: resolve(root, 'packer/output/image/ballast.qcow2') },
      accelerator: { type: 'string', default: process.env['IMAGE_ACCEL'] ?? 'tcg' },
      tarball: { type: 'string', default: resolve(root, 'packer/output/app/ballast-app.tar.gz') },
      'no-deploy': { type: 'boolean', default: false },
    },
  });
  if (!existsSync(values.image)) {
    process.stderr.write(`image:check: no image at ${values.image}; build it with npm run image\n`);
    return 2;
  }
  const accelerator = values.accelerator === 'kvm' ? 'kvm' : 'tcg';
  const deploy = !values['no-deploy'] && existsSync(values.tarball);
  const log = (line: string): void => void process.stderr.write(`image:check: ${line}\n`);
  const report = await bootCheck({
    image: values.image,
    accelerator,
    log,
    ...(deploy
      ? {
          then: async (_vm, host): Promise<CheckResult[]> => {
            log(`deploying ${values.tarball} onto the VM (one node: restart through systemd)`);
            try {
              const r = await rollingDeploy({
                tarball: values.tarball,
                targets: [{ host, installDir: '/opt/ballast', configPath: '/etc/ballast/ballast.yaml', restart: ['systemctl', 'restart', 'ballast'] }],
                nodeTimeoutMs: 600_000,
                log,
              });
              const prev = await host.exec('cat', ['/opt/ballast.prev/VERSION'], { allowFailure: true });
              return [{ name: 'deploy over SSH: staged, swapped, restarted, ready', ok: r.steps.every((s) => s.outcome === 'updated'), detail: `${r.version} in ${r.totalMs} ms (restart ${r.steps[0]?.restartMs ?? '?'} ms); previous kept: ${prev.stdout.trim()}` }];
            } catch (err) {
              return [{ name: 'deploy over SSH', ok: false, detail: (err as Error).message }];
            }
          },
        }
      : {}),
  });
  for (const c of report.checks) process.stdout.write(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}\n`);
  process.stdout.write(`ssh after ${Math.round(report.sshMs / 1000)} s, ready after ${report.readyMs === null ? 'never' : `${Math.round(report.readyMs / 1000)} s`}: ${report.ok ? 'PASS' : 'FAIL'}\n`);
  return report.ok ? 0 : 1;
}

process.exitCode = await main();
