// The kernel's view of TCP work on the VIP (/proc/net/tcp and tcp6): connections no worker has
// accepted yet and connections whose bytes the client has not acknowledged, which a VIP release
// would strand. Read from /proc rather than through `ss`: a planned move polls it, and on a loaded
// host every fork costs the move time.
import { readFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import type { CommandRunner } from './types.js';

const LISTEN = '0A';
const SYN_RECV = '03';

/** An IPv4 address as /proc/net/tcp prints it: the 32-bit value in host byte order, in hex. */
function procHex(ip: string, littleEndian: boolean): string {
  const bytes = ip.split('.').map((o) => Number(o).toString(16).padStart(2, '0').toUpperCase());
  return (littleEndian ? bytes.reverse() : bytes).join('');
}

/**
 * Counts, from /proc/net/tcp (and tcp6) text, the TCP work on `ip` that dropping the address would
 * break: half-open connections to it (SYN_RECV), connections waiting in the accept queue of a
 * listener that takes it (bound to it or to a wildcard: rx_queue of a LISTEN line), and connections
 * from it with bytes or a FIN not yet acknowledged (tx_queue of any other line); not those already
 * retransmitting to a peer that stopped answering (retrnsmt > 0).
 */
export function countPending(procText: string, ip: string, littleEndian = endianness() === 'LE'): number {
  const v4 = procHex(ip, littleEndian);
  const mapped = `0000000000000000${littleEndian ? 'FFFF0000' : '0000FFFF'}${v4}`;
  const own = new Set([v4, mapped]);
  const wild = new Set(['00000000', '0'.repeat(32)]);
  let pending = 0;
  for (const line of procText.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 5 || !cols[0]?.endsWith(':')) continue;
    const [, local, , state, queues, , retransmits] = cols as [string, string, string, string, string, string, string | undefined];
    const host = local.slice(0, local.indexOf(':'));
    const [tx, rx] = queues.split(':').map((h) => parseInt(h, 16) || 0) as [number, number];
    // A socket already in retransmission backoff is waiting on a peer that went away (typically one
    // left from an earlier tenure of the VIP, or by a killed predecessor): it would hold every drain
    // to its bound for minutes, and there is nobody left to strand.
    const stalled = (parseInt(retransmits ?? '0', 16) || 0) > 0;
    if (state === LISTEN) {
      if (own.has(host) || wild.has(host)) pending += rx;
      continue;
    }
    if (!own.has(host) || stalled) continue;
    if (state === SYN_RECV) pending += 1;
    else if (tx > 0) pending += 1;
  }
  return pending;
}

/** Through `runner` when one points elsewhere (a namespace), else straight from this process's /proc. */
export async function pendingOnVip(ip: string, runner: CommandRunner | null, timeoutMs: number): Promise<number> {
  let text: string;
  if (runner) {
    const [v4, v6] = await Promise.all([
      runner.run('cat', ['/proc/net/tcp'], { timeoutMs }),
      // Absent when IPv6 is disabled.
      runner.run('cat', ['/proc/net/tcp6'], { timeoutMs }).catch(() => ({ stdout: '' })),
    ]);
    text = `${v4.stdout}\n${v6.stdout}`;
  } else {
    const files = await Promise.all(['/proc/net/tcp', '/proc/net/tcp6'].map((f) => readFile(f, 'utf8').catch(() => '')));
    text = files.join('\n');
  }
  return countPending(text, ip);
}
