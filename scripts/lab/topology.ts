// The netns lab: a bridge namespace joining 3 ballast nodes, 2 backends and a client on 198.18.0.0/24.
import { findPrefix } from '../../cluster/vip/linux-driver.js';
import { parseVipAddress } from '../../cluster/vip/vip-address.js';
import { addNamespace, deleteNamespace, execIn, ip, listNamespaces, spawnIn } from './netns.js';
import type { HostStatus, Lab, LabHost, LabOptions, LabRole, LabStatus } from './types.js';

export { execIn, spawnIn };

/*
 * Every lab address exists only inside the lab's namespaces: veth pairs are created inside the bridge
 * namespace with their peer placed straight into the host namespace, so nothing, not even for a moment,
 * is added to the root namespace but the namespaces themselves.
 */

const SUBNET = '198.18.0';
const PREFIX_LEN = 24;
const IFACE = 'eth0';
const BRIDGE = 'br0';
const HOSTS: ReadonlyArray<{ name: string; role: LabRole; octet: number }> = [
  { name: 'n1', role: 'node', octet: 11 },
  { name: 'n2', role: 'node', octet: 12 },
  { name: 'n3', role: 'node', octet: 13 },
  { name: 'b1', role: 'backend', octet: 21 },
  { name: 'b2', role: 'backend', octet: 22 },
  { name: 'c1', role: 'client', octet: 31 },
];

/** The lab's names and addresses; creates nothing. */
export function labTopology(options: LabOptions = {}): Lab {
  const prefix = options.prefix ?? 'bl';
  if (!/^[a-z][a-z0-9]{0,11}$/.test(prefix)) {
    throw new Error(`lab prefix "${prefix}" must be 1-12 lowercase letters or digits, starting with a letter`);
  }
  const hosts: LabHost[] = HOSTS.map(({ name, role, octet }) => ({
    name,
    role,
    ns: `${prefix}-${name}`,
    iface: IFACE,
    address: `${SUBNET}.${octet}`,
    cidr: `${SUBNET}.${octet}/${PREFIX_LEN}`,
  }));
  const client = hosts.find((h) => h.role === 'client');
  if (client === undefined) throw new Error('lab has no client');
  return {
    prefix,
    bridgeNs: `${prefix}-br`,
    bridge: BRIDGE,
    vip: `${SUBNET}.100/${PREFIX_LEN}`,
    hosts,
    nodes: hosts.filter((h) => h.role === 'node'),
    backends: hosts.filter((h) => h.role === 'backend'),
    client,
  };
}

/** Builds the lab, tearing down a stale one with the same prefix first. On failure, removes what it made. */
export async function labUp(options: LabOptions = {}): Promise<Lab> {
  const lab = labTopology(options);
  await labDown(options);
  try {
    await addNamespace(lab.bridgeNs);
    await ip(['-n', lab.bridgeNs, 'link', 'set', 'lo', 'up']);
    await ip(['-n', lab.bridgeNs, 'link', 'add', lab.bridge, 'type', 'bridge']);
    await ip(['-n', lab.bridgeNs, 'link', 'set', lab.bridge, 'up']);
    for (const h of lab.hosts) {
      await addNamespace(h.ns);
      await ip(['-n', lab.bridgeNs, 'link', 'add', h.name, 'type', 'veth', 'peer', 'name', h.iface, 'netns', h.ns]);
      await ip(['-n', lab.bridgeNs, 'link', 'set', h.name, 'master', lab.bridge]);
      await ip(['-n', lab.bridgeNs, 'link', 'set', h.name, 'up']);
      await ip(['-n', h.ns, 'link', 'set', 'lo', 'up']);
      await ip(['-n', h.ns, 'addr', 'add', h.cidr, 'dev', h.iface]);
      await ip(['-n', h.ns, 'link', 'set', h.iface, 'up']);
    }
  } catch (err) {
    await labDown(options).catch(() => undefined);
    throw err;
  }
  return lab;
}

/** Removes every namespace of the lab (and with them the bridge, the veths and the addresses). */
export async function labDown(options: LabOptions = {}): Promise<void> {
  const lab = labTopology(options);
  const ours = new Set([lab.bridgeNs, ...lab.hosts.map((h) => h.ns)]);
  const present = (await listNamespaces()).filter((ns) => ours.has(ns));
  const failures: unknown[] = [];
  // Hosts first: a process in a host namespace may still be talking through the bridge.
  for (const ns of present.sort((a, b) => Number(a === lab.bridgeNs) - Number(b === lab.bridgeNs))) {
    try {
      await deleteNamespace(ns);
    } catch (err) {
      failures.push(err);
    }
  }
  if (failures.length > 0) throw new AggregateError(failures, `lab ${lab.prefix}: could not delete every namespace`);
}

export async function labStatus(options: LabOptions = {}): Promise<LabStatus> {
  const lab = labTopology(options);
  const namespaces = (await listNamespaces()).filter((ns) => ns.startsWith(`${lab.prefix}-`)).sort();
  const bridgePresent = namespaces.includes(lab.bridgeNs);
  const hosts: HostStatus[] = await Promise.all(
    lab.hosts.map(async (host): Promise<HostStatus> => {
      const present = namespaces.includes(host.ns);
      return {
        host,
        present,
        addresses: present ? await addressesOf(host.ns, host.iface) : [],
        linkUp: bridgePresent ? await portUp(lab.bridgeNs, host.name) : false,
      };
    }),
  );
  const vip = parseVipAddress(lab.vip).ip;
  const vipHolders = hosts.filter((h) => h.addresses.some((a) => a.startsWith(`${vip}/`))).map((h) => h.host.ns);
  return { lab, bridgePresent, hosts, vipHolders, namespaces };
}

/**
 * Pulls or plugs a host's cable: sets the host's port on the lab bridge down or up. The host's own
 * interface stays administratively up with its addresses (it sees NO-CARRIER), as after a real cable
 * pull or switch-port shutdown, so a partitioned node can still add and remove the VIP locally.
 */
export async function setLink(ns: string, up: boolean): Promise<void> {
  const dash = ns.lastIndexOf('-');
  if (dash <= 0) throw new Error(`"${ns}" is not a lab namespace (expected PREFIX-HOST)`);
  const bridgeNs = `${ns.slice(0, dash)}-br`;
  await ip(['-n', bridgeNs, 'link', 'set', ns.slice(dash + 1), up ? 'up' : 'down']);
}

/**
 * The namespaces that carry `vip`'s IP (prefix length ignored) right now, asked of the kernel in parallel.
 * Looks at the lab's node namespaces unless `among` names others. A namespace that is gone counts as not
 * holding. Meant to be sampled every ~50 ms during a failover drill to catch overlap.
 */
export async function vipHolders(vip: string, options: LabOptions & { among?: readonly string[] } = {}): Promise<string[]> {
  const target = parseVipAddress(vip.includes('/') ? vip : `${vip}/32`).ip;
  const among = options.among ?? labTopology(options).nodes.map((h) => h.ns);
  const held = await Promise.all(
    among.map(async (ns) => {
      try {
        const { stdout } = await ip(['-n', ns, '-j', '-4', 'addr', 'show'], { timeoutMs: 2000 });
        return findPrefix(stdout, target) !== null;
      } catch {
        return false;
      }
    }),
  );
  return among.filter((_, i) => held[i] === true);
}

async function addressesOf(ns: string, iface: string): Promise<string[]> {
  try {
    const { stdout } = await ip(['-n', ns, '-o', '-4', 'addr', 'show', 'dev', iface]);
    return [...stdout.matchAll(/\binet\s+(\S+)/g)].map((m) => m[1] ?? '').filter((a) => a !== '');
  } catch {
    return [];
  }
}

async function portUp(bridgeNs: string, port: string): Promise<boolean> {
  try {
    const { stdout } = await ip(['-n', bridgeNs, '-o', 'link', 'show', 'dev', port]);
    // The flags list, e.g. <BROADCAST,MULTICAST,UP,LOWER_UP>: UP is the admin state the lab toggles.
    return /<[^>]*\bUP\b[^>]*>/.test(stdout);
  } catch {
    return false;
  }
}
