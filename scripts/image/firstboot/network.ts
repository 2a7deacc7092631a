// Renders a seed's network-config (netplan-style version 2, the subset a Ballast node needs: static
// addresses or DHCP, a gateway, routes, per NIC by name or MAC) into systemd-networkd units.
import { FirstBootError } from './errors.js';
import type { NetworkUnit } from './types.js';

type Dict = Record<string, unknown>;

function isDict(v: unknown): v is Dict {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function strings(v: unknown, what: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw new FirstBootError('IMAGE_ERR_NETWORK_CONFIG', `${what} must be a list of strings`);
  return v;
}

/** networkd units for `config` (already parsed YAML); [] for none. Units sort before the image's DHCP default. */
export function networkUnits(config: unknown): NetworkUnit[] {
  if (config === null || config === undefined) return [];
  // NoCloud allows the document to be wrapped in `network:`.
  const doc = isDict(config) && isDict(config['network']) ? config['network'] : config;
  if (!isDict(doc)) throw new FirstBootError('IMAGE_ERR_NETWORK_CONFIG', 'not a mapping');
  if (doc['version'] !== 2) throw new FirstBootError('IMAGE_ERR_NETWORK_CONFIG', `version ${String(doc['version'])}: only version 2 (netplan style) is read`);
  const ethernets = doc['ethernets'] ?? {};
  if (!isDict(ethernets)) throw new FirstBootError('IMAGE_ERR_NETWORK_CONFIG', 'ethernets must be a mapping');
  const units: NetworkUnit[] = [];
  for (const [id, raw] of Object.entries(ethernets)) {
    if (!/^[A-Za-z0-9_.-]+$/.test(id) || !isDict(raw)) throw new FirstBootError('IMAGE_ERR_NETWORK_CONFIG', `ethernets.${id}: bad entry`);
    const match = isDict(raw['match']) ? raw['match'] : {};
    const lines = ['[Match]'];
    if (typeof match['macaddress'] === 'string') lines.push(`MACAddress=${match['macaddress']}`);
    else lines.push(`Name=${typeof match['name'] === 'string' ? match['name'] : id}`);
    lines.push('', '[Network]');
    lines.push(`DHCP=${raw['dhcp4'] === true ? 'ipv4' : 'no'}`);
    // A node's addresses are its own: no IPv6 autoconfiguration on the cluster's network.
    lines.push('LinkLocalAddressing=no', 'IPv6AcceptRA=no');
    for (const a of strings(raw['addresses'], `ethernets.${id}.addresses`)) {
      if (!/^[0-9a-fA-F.:]+\/\d+$/.test(a)) throw new FirstBootError('IMAGE_ERR_NETWORK_CONFIG', `ethernets.${id}: address ${a} needs a prefix length`);
      lines.push(`Address=${a}`);
    }
    if (typeof raw['gateway4'] === 'string') lines.push(`Gateway=${raw['gateway4']}`);
    const ns = isDict(raw['nameservers']) ? strings(raw['nameservers']['addresses'], `ethernets.${id}.nameservers.addresses`) : [];
    for (const n of ns) lines.push(`DNS=${n}`);
    const routes = raw['routes'] ?? [];
    if (!Array.isArray(routes)) throw new FirstBootError('IMAGE_ERR_NETWORK_CONFIG', `ethernets.${id}.routes must be a list`);
    for (const r of routes) {
      if (!isDict(r) || typeof r['to'] !== 'string' || typeof r['via'] !== 'string') throw new FirstBootError('IMAGE_ERR_NETWORK_CONFIG', `ethernets.${id}.routes: each needs to and via`);
      lines.push('', '[Route]', `Destination=${r['to'] === 'default' ? '0.0.0.0/0' : r['to']}`, `Gateway=${r['via']}`);
    }
    units.push({ name: `10-seed-${id}.network`, content: `# From this VM's seed (network-config), at first boot.\n${lines.join('\n')}\n` });
  }
  return units;
}
