// Which network interfaces exist where the VIP would go, and the check that the configured one is among them.
import { readdir } from 'node:fs/promises';
import { networkInterfaces } from 'systeminformation';
import { VipError } from './errors.js';
import type { CommandRunner, InterfaceLister } from './types.js';

/**
 * This host's interfaces as systeminformation reports them (the project's library for host facts, which
 * handles the platform differences). It builds on os.networkInterfaces(), which leaves out interfaces that
 * are down or carry no address yet; a node booting with its cable out must still pass, so on Linux the
 * names in /sys/class/net are added.
 */
export const systemInterfaces: InterfaceLister = async () => {
  const list = await networkInterfaces();
  const names = new Set((Array.isArray(list) ? list : [list]).map((entry) => entry.iface));
  if (process.platform === 'linux') {
    for (const name of await readdir('/sys/class/net').catch(() => [])) names.add(name);
  }
  return [...names];
};

/**
 * The interfaces where `runner` executes (e.g. inside a namespace, which systeminformation running in
 * this process cannot see), from `ip -o link show`.
 */
export function runnerInterfaces(runner: CommandRunner): InterfaceLister {
  return async () => {
    const { stdout } = await runner.run('ip', ['-o', 'link', 'show'], { timeoutMs: 5000 });
    const names: string[] = [];
    for (const line of stdout.split('\n')) {
      // "2: eth0@if3: <BROADCAST,...> ..." -> "eth0"
      const match = /^\d+:\s+([^:@\s]+)/.exec(line);
      if (match?.[1] !== undefined) names.push(match[1]);
    }
    return names;
  };
}

export async function assertInterfaceExists(name: string, list: InterfaceLister, where: string): Promise<void> {
  const names = await list();
  if (!names.includes(name)) {
    const place = where === 'host' ? 'this host' : where;
    throw new VipError(
      'VIP_ERR_NO_INTERFACE',
      `interface "${name}" does not exist on ${place}; interfaces: ${names.length > 0 ? names.join(', ') : '(none)'}`,
    );
  }
}
