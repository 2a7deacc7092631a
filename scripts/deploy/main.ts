// `npm run deploy -- --hosts n1=root@10.0.0.11,... --key KEY [--tarball T]`: the rolling deploy over SSH.
import { parseArgs } from 'node:util';
import { connectAll, parseSshSpecs } from '../hosts/ssh-target.js';
import { rollingDeploy } from './rollout.js';

const USAGE = `usage: npm run deploy -- --hosts n1=root@HOST[:PORT],n2=... --key PRIVATE_KEY (or n1=KEY1,n2=KEY2,...) [options]
  --tarball FILE       release made by scripts/image/app.sh (default packer/output/app/ballast-app.tar.gz)
  --sudo               prefix remote commands with sudo -n (a non-root login such as vagrant)
  --install-dir DIR    default /opt/ballast
  --config FILE        default /etc/ballast/ballast.yaml
  --restart CMD        default "systemctl restart ballast"
  --node-timeout S     seconds a node gets to come back ready and caught up (default 180)`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      hosts: { type: 'string' },
      key: { type: 'string' },
      tarball: { type: 'string', default: 'packer/output/app/ballast-app.tar.gz' },
      sudo: { type: 'boolean', default: false },
      'install-dir': { type: 'string', default: '/opt/ballast' },
      config: { type: 'string', default: '/etc/ballast/ballast.yaml' },
      restart: { type: 'string', default: 'systemctl restart ballast' },
      'node-timeout': { type: 'string', default: '180' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help || values.hosts === undefined || values.key === undefined) {
    process.stderr.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const hosts = await connectAll(parseSshSpecs(values.hosts), values.key, values.sudo);
  try {
    const report = await rollingDeploy({
      tarball: values.tarball,
      targets: hosts.map((host) => ({
        host,
        installDir: values['install-dir'],
        configPath: values.config,
        restart: values.restart.split(/\s+/).filter((w) => w !== ''),
      })),
      nodeTimeoutMs: Number(values['node-timeout']) * 1000,
      log: (line) => process.stderr.write(`deploy: ${line}\n`),
    });
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`deploy: ${(err as Error).message}\n`);
    return 1;
  } finally {
    await Promise.all(hosts.map((h) => h.close()));
  }
}

process.exitCode = await main();
