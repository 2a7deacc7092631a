// Parses SSH host specs from the command line (`n1=root@10.0.0.11:22`) and connects them as SshHosts.
import { SshHost } from './ssh-host.js';

export interface SshSpec {
  name: string;
  username: string;
  host: string;
  port: number;
}

/** `name=user@host[:port]`, or `user@host[:port]` (named after the host). IPv6 hosts in brackets. */
export function parseSshSpec(spec: string): SshSpec {
  const eq = spec.indexOf('=');
  const name = eq > 0 ? spec.slice(0, eq) : null;
  const rest = eq > 0 ? spec.slice(eq + 1) : spec;
  const m = /^([^@\s]+)@(\[[^\]]+\]|[^:\s]+)(?::(\d+))?$/.exec(rest);
  if (!m) throw new Error(`host spec "${spec}": expected name=user@host[:port]`);
  const host = m[2]!.replace(/^\[|\]$/g, '');
  return { name: name ?? host, username: m[1]!, host, port: m[3] ? Number(m[3]) : 22 };
}

export function parseSshSpecs(list: string): SshSpec[] {
  return list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(parseSshSpec);
}

/**
 * `--key`: one private key for every host (`~/.ssh/id_ed25519`), or one per host by name
 * (`n1=.vagrant/machines/n1/libvirt/private_key,n2=...`), as Vagrant gives each machine its own.
 */
export function keyFor(keys: string, name: string): string {
  if (!keys.includes('=')) return keys;
  for (const pair of keys.split(',')) {
    const eq = pair.indexOf('=');
    if (pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
  }
  throw new Error(`--key names no key for host "${name}" (give name=path for every host, or one path for all)`);
}

export async function connectAll(specs: readonly SshSpec[], keys: string, sudo: boolean): Promise<SshHost[]> {
  const hosts: SshHost[] = [];
  try {
    for (const s of specs) {
      hosts.push(await SshHost.connect({ name: s.name, host: s.host, port: s.port, username: s.username, privateKeyPath: keyFor(keys, s.name), sudo }));
    }
  } catch (err) {
    await Promise.all(hosts.map((h) => h.close()));
    throw err;
  }
  return hosts;
}
