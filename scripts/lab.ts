// `npm run lab -- up|down|status [--prefix bl]`: builds, removes or shows the network-namespace lab.
import { parseArgs } from 'node:util';
import { labDown, labStatus, labUp } from './lab/topology.js';
import type { LabStatus } from './lab/types.js';

function formatStatus(status: LabStatus): string {
  const { lab } = status;
  const lines = [`lab "${lab.prefix}": bridge ${lab.bridgeNs}/${lab.bridge} ${status.bridgePresent ? 'present' : 'absent'}`];
  for (const h of status.hosts) {
    const state = !h.present ? 'absent' : `${h.linkUp ? 'link up  ' : 'link DOWN'} ${h.addresses.join(' ') || '(no address)'}`;
    lines.push(`  ${h.host.ns.padEnd(14)} ${h.host.role.padEnd(8)} ${h.host.iface} ${state}`);
  }
  lines.push(`VIP ${lab.vip} held by: ${status.vipHolders.length > 0 ? status.vipHolders.join(', ') : 'nobody'}`);
  const stray = status.namespaces.filter((ns) => ns !== lab.bridgeNs && !lab.hosts.some((h) => h.ns === ns));
  if (stray.length > 0) lines.push(`other namespaces with this prefix: ${stray.join(', ')}`);
  return lines.join('\n');
}

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { prefix: { type: 'string', default: 'bl' } },
  });
  const command = positionals[0] ?? '';
  const options = { prefix: values.prefix };
  if (process.getuid?.() !== 0) {
    process.stderr.write('lab: network namespaces need root (run as root or with sudo)\n');
    return 1;
  }
  switch (command) {
    case 'up': {
      await labUp(options);
      process.stdout.write(`${formatStatus(await labStatus(options))}\n`);
      return 0;
    }
    case 'down':
      await labDown(options);
      process.stdout.write(`lab "${options.prefix}" removed\n`);
      return 0;
    case 'status':
      process.stdout.write(`${formatStatus(await labStatus(options))}\n`);
      return 0;
    default:
      process.stderr.write('usage: npm run lab -- up|down|status [--prefix NAME]\n');
      return 2;
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`lab: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
