// `npm run drill:ssh -- --nodes n1=root@HOST,... --client c1=root@HOST --url http://VIP:8080/ --key KEY`:
// the failover drill against VMs or servers over SSH.
import { parseArgs } from 'node:util';
import { connectAll, parseSshSpecs } from '../hosts/ssh-target.js';
import { runDrill } from './drill.js';

const USAGE = `usage: npm run drill:ssh -- --nodes n1=root@HOST[:PORT],... --client c1=root@HOST[:PORT] --url URL --key KEY [options]
  --url URL        what the client requests, through the VIP (e.g. http://198.18.0.100:8080/)
  --key KEY        one private key for all hosts, or name=path,... per host (Vagrant's machines each have one)
  --sudo           prefix remote commands with sudo -n (vagrant)
  --config FILE    node config path (default /etc/ballast/ballast.yaml)
  --kill CMD       default "systemctl kill --signal=SIGKILL ballast"`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      nodes: { type: 'string' },
      client: { type: 'string' },
      url: { type: 'string' },
      key: { type: 'string' },
      sudo: { type: 'boolean', default: false },
      config: { type: 'string', default: '/etc/ballast/ballast.yaml' },
      kill: { type: 'string', default: 'systemctl kill --signal=SIGKILL ballast' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help || !values.nodes || !values.client || !values.url || !values.key) {
    process.stderr.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const nodes = await connectAll(parseSshSpecs(values.nodes), values.key, values.sudo);
  const [client] = await connectAll(parseSshSpecs(values.client), values.key, values.sudo);
  try {
    const report = await runDrill({
      nodes: nodes.map((host) => ({ host, installDir: '/opt/ballast', configPath: values.config, restart: [] })),
      client: client!,
      url: values.url,
      kill: values.kill.split(/\s+/).filter((w) => w !== ''),
      log: (line) => process.stderr.write(`drill: ${line}\n`),
    });
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return report.newLeader !== null && report.recovered ? 0 : 1;
  } finally {
    await Promise.all([...nodes, client!].map((h) => h.close()));
  }
}

process.exitCode = await main();
