// Watches which lab namespaces carry the VIP from the kernel's address events, to time handovers and overlap.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseVipAddress } from '../../cluster/vip/vip-address.js';
import { labTopology, vipHolders } from './topology.js';
import type { LabOptions } from './types.js';

export interface VipEvent {
  /** Kernel-side time of the change (ip monitor -tshort), ms since the epoch. */
  atMs: number;
  ns: string;
  held: boolean;
}

export interface VipWatch {
  /** Namespaces holding the VIP as of the last event read. */
  holders(): string[];
  /** Changes in the order read, starting from the initial snapshot (marked at the watch's start time). */
  readonly events: readonly VipEvent[];
  /** Total time, in ms, during which two or more namespaces held the VIP at once (so far). */
  overlapMs(): number;
  /** Stops the monitors; resolves once they have exited. */
  stop(): Promise<void>;
}

/**
 * Follows `ip -n NS monitor address` in each watched namespace (the lab's nodes unless `among` says
 * otherwise). Unlike sampling with vipHolders(), no change is missed however short, and times come
 * from the kernel's timestamps rather than this process's event loop.
 */
export async function watchVip(vip: string, options: LabOptions & { among?: readonly string[] } = {}): Promise<VipWatch> {
  const ip = parseVipAddress(vip.includes('/') ? vip : `${vip}/32`).ip;
  const among = [...(options.among ?? labTopology(options).nodes.map((h) => h.ns))];
  const events: VipEvent[] = [];
  const state = new Map<string, boolean>();
  const seenEvent = new Set<string>();
  const children: ChildProcess[] = [];
  const pattern = new RegExp(`^\\[([0-9T:.-]+)\\]\\s+(Deleted\\s+)?\\d+:\\s+\\S+\\s+inet\\s+${ip.replaceAll('.', '\\.')}/`);

  for (const ns of among) {
    const child = spawn('ip', ['-n', ns, '-tshort', '-oneline', 'monitor', 'address'], { stdio: ['ignore', 'pipe', 'ignore'] });
    children.push(child);
    createInterface({ input: child.stdout }).on('line', (line) => {
      const match = pattern.exec(line);
      if (match === null) return;
      const held = match[2] === undefined;
      // -tshort prints local time without a zone, which Date parses as local time.
      const at = Date.parse(match[1] ?? '');
      seenEvent.add(ns);
      state.set(ns, held);
      events.push({ atMs: Number.isNaN(at) ? Date.now() : at, ns, held });
    });
  }
  // ip monitor prints nothing once subscribed; give it a moment before the snapshot that seeds the state.
  await sleep(150);
  const startedAt = Date.now();
  const initial = new Set(await vipHolders(ip, { among }));
  for (const ns of among) {
    if (seenEvent.has(ns)) continue;
    state.set(ns, initial.has(ns));
    if (initial.has(ns)) events.unshift({ atMs: startedAt, ns, held: true });
  }

  return {
    events,
    holders: () => among.filter((ns) => state.get(ns) === true),
    overlapMs: () => overlapOf(events, Date.now()),
    async stop() {
      await Promise.all(
        children.map(async (child) => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const exited = once(child, 'exit');
          child.kill('SIGTERM');
          await exited;
        }),
      );
    },
  };
}

/** Sums the time during which more than one namespace held the VIP, replaying events in time order. */
export function overlapOf(events: readonly VipEvent[], nowMs: number): number {
  const sorted = [...events].sort((a, b) => a.atMs - b.atMs);
  const holding = new Set<string>();
  let total = 0;
  let since: number | null = null;
  for (const e of sorted) {
    if (e.held) holding.add(e.ns);
    else holding.delete(e.ns);
    if (holding.size > 1 && since === null) since = e.atMs;
    if (holding.size <= 1 && since !== null) {
      total += e.atMs - since;
      since = null;
    }
  }
  if (since !== null) total += Math.max(0, nowMs - since);
  return total;
}
