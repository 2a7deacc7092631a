// This host's network interfaces for the node's stats: name, IPv4, link state and byte rates, from
// os.networkInterfaces() and /sys/class/net read asynchronously, without starting a process. The
// stats run on the process that runs Raft, and systeminformation's networkInterfaces() runs some
// twenty shell commands per interface through execSync: measured here, a 150-270 ms stall of the
// event loop on a real CPU (seconds in an emulated VM), on every address change, i.e. at each VIP move.
import { networkInterfaces } from 'node:os';
import { readdir, readFile } from 'node:fs/promises';
import type { HostStats } from './types.js';

export type InterfaceStats = HostStats['interfaces'][number];

const SYS_NET = '/sys/class/net';

async function readSys(name: string, file: string): Promise<string | null> {
  try {
    return (await readFile(`${SYS_NET}/${name}/${file}`, 'utf8')).trim();
  } catch {
    return null;
  }
}

function counter(text: string | null): number | null {
  const n = text === null ? NaN : Number(text);
  return Number.isFinite(n) && n >= 0 ? n : null;
}

export class InterfaceSampler {
  private readonly last = new Map<string, { at: number; rx: number | null; tx: number | null }>();

  constructor(private readonly sysNet: boolean = process.platform === 'linux') {}

  async read(now: number): Promise<InterfaceStats[]> {
    const addresses = networkInterfaces();
    // os.networkInterfaces() leaves out interfaces without an address (a cable out at boot); /sys has them all.
    const names = new Set(Object.keys(addresses));
    if (this.sysNet) for (const name of await readdir(SYS_NET).catch(() => [] as string[])) names.add(name);
    const seen = new Set<string>();
    const list = await Promise.all(
      [...names].sort().map(async (name): Promise<InterfaceStats> => {
        seen.add(name);
        const addrs = addresses[name] ?? [];
        const internal = addrs.some((a) => a.internal);
        const [operstate, rxText, txText] = this.sysNet
          ? await Promise.all([readSys(name, 'operstate'), readSys(name, 'statistics/rx_bytes'), readSys(name, 'statistics/tx_bytes')])
          : [null, null, null];
        const rx = counter(rxText);
        const tx = counter(txText);
        const prev = this.last.get(name);
        this.last.set(name, { at: now, rx, tx });
        const rate = (cur: number | null, old: number | null | undefined): number | null => {
          if (!prev || cur === null || old === null || old === undefined || now <= prev.at || cur < old) return null;
          return Math.round(((cur - old) * 1000) / (now - prev.at));
        };
        return {
          name,
          ip4: addrs.find((a) => a.family === 'IPv4')?.address ?? '',
          // Loopback reports "unknown"; without /sys, an interface with an address counts as up.
          up: operstate === 'up' || (operstate === null ? addrs.length > 0 : internal && operstate !== 'down'),
          rxBytesPerSec: rate(rx, prev?.rx),
          txBytesPerSec: rate(tx, prev?.tx),
        };
      }),
    );
    for (const name of this.last.keys()) if (!seen.has(name)) this.last.delete(name);
    return list;
  }
}
