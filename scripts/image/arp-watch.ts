// Watches who answers ARP for an address on a bridge, from the bridge's own namespace: what the network
// sees of the VIP (one MAC, two, none), without asking the VMs. Each probe is one `arping -b -w 1` round
// (about a second: this iputils arping takes whole-second intervals only), broadcast throughout (after a
// first reply arping would otherwise ask only the MAC that answered).
import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ArpSample {
  /** When the probe round ended, ms since the epoch. */
  at: number;
  /** Distinct MACs that answered, lower case. */
  macs: string[];
  /** False when arping itself failed (no "Sent" summary): such a probe says nothing about the VIP. */
  ok: boolean;
}

export interface ArpWatch {
  readonly samples: readonly ArpSample[];
  stop(): Promise<void>;
}

/** Distinct MACs in arping's reply lines ("Unicast reply from 198.18.0.100 [52:54:00:18:00:11]  1.2ms"). */
export function replyMacs(output: string): string[] {
  const macs = new Set<string>();
  for (const m of output.matchAll(/reply from \S+ \[([0-9A-Fa-f:]{17})\]/g)) macs.add(m[1]!.toLowerCase());
  return [...macs];
}

export function watchArp(address: string, iface: string, options: { maxMs?: number } = {}): ArpWatch {
  const samples: ArpSample[] = [];
  let stopped = false;
  const until = Date.now() + (options.maxMs ?? 60 * 60_000);
  const loop = (async (): Promise<void> => {
    while (!stopped && Date.now() < until) {
      // arping exits 1 when nobody answered: that is a sample too (no holder).
      const r = await run('arping', ['-b', '-w', '1', '-I', iface, address], { timeout: 5000 }).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? '' }));
      samples.push({ at: Date.now(), macs: replyMacs(r.stdout), ok: /^Sent \d+ probe/m.test(r.stdout) });
      await sleep(50);
    }
  })();
  return {
    samples,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
