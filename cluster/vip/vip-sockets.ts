// The kernel's view of TCP work on the VIP (/proc/net/tcp and tcp6): connections no worker has
// accepted yet and connections whose bytes the client has not acknowledged, which a VIP release
// would strand. Read from /proc rather than through `ss`: a planned move polls it, and on a loaded
// host every fork costs the move time.
import { readFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import type { CommandRunner, PendingSocket } from './types.js';

const LISTEN = '0A';
const SYN_RECV = '03';

/** /proc/net/tcp's state codes, by name (include/net/tcp_states.h), for log lines a person reads. */
const STATE_NAMES: Record<string, string> = {
  '01': 'ESTABLISHED',
  '02': 'SYN_SENT',
  '03': 'SYN_RECV',
  '04': 'FIN_WAIT1',
  '05': 'FIN_WAIT2',
  '06': 'TIME_WAIT',
  '07': 'CLOSE',
  '08': 'CLOSE_WAIT',
  '09': 'LAST_ACK',
  '0A': 'LISTEN',
  '0B': 'CLOSING',
  '0C': 'NEW_SYN_RECV',
};

/** An IPv4 address as /proc/net/tcp prints it: the 32-bit value in host byte order, in hex. */
function procHex(ip: string, littleEndian: boolean): string {
  const bytes = ip.split('.').map((o) => Number(o).toString(16).padStart(2, '0').toUpperCase());
  return (littleEndian ? bytes.reverse() : bytes).join('');
}

/** `0100007F:1F90` (or its tcp6 form) as `127.0.0.1:8080`; IPv6 other than v4-mapped stays hex. */
function readableEndpoint(hexEndpoint: string, littleEndian: boolean): string {
  const [hexHost = '', hexPort = '0'] = hexEndpoint.split(':');
  const v4 = hexHost.length === 8 ? hexHost : hexHost.length === 32 && /^0{16}(FFFF0000|0000FFFF)/i.test(hexHost) ? hexHost.slice(24) : null;
  const port = parseInt(hexPort, 16);
  if (v4 === null) return `[${hexHost}]:${port}`;
  const octets = [0, 2, 4, 6].map((i) => parseInt(v4.slice(i, i + 2), 16));
  return `${(littleEndian ? octets.reverse() : octets).join('.')}:${port}`;
}

/**
 * The TCP work on `ip` that dropping the address would break, from /proc/net/tcp (and tcp6) text:
 * half-open connections to it (SYN_RECV), connections waiting in the accept queue of a listener
 * that takes it (bound to it or to a wildcard: rx_queue of a LISTEN line), and connections from it
 * with bytes or a FIN not yet acknowledged (tx_queue of any other line); not those already
 * retransmitting to a peer that stopped answering (retrnsmt > 0). One entry per socket; `weight`
 * is what it adds to the count (a LISTEN line: its accept queue length).
 */
export function pendingSockets(procText: string, ip: string, littleEndian = endianness() === 'LE'): PendingSocket[] {
  const v4 = procHex(ip, littleEndian);
  const mapped = `0000000000000000${littleEndian ? 'FFFF0000' : '0000FFFF'}${v4}`;
  const own = new Set([v4, mapped]);
  const wild = new Set(['00000000', '0'.repeat(32)]);
  const found: PendingSocket[] = [];
  for (const line of procText.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 5 || !cols[0]?.endsWith(':')) continue;
    const [, local, remote, state, queues, , retransmits, , probes] = cols as [string, string, string, string, string, string, string | undefined, string | undefined, string | undefined];
    const host = local.slice(0, local.indexOf(':'));
    const [tx, rx] = queues.split(':').map((h) => parseInt(h, 16) || 0) as [number, number];
    const entry = (why: PendingSocket['why'], weight: number): PendingSocket => ({
      local: readableEndpoint(local, littleEndian),
      remote: readableEndpoint(remote, littleEndian),
      state: STATE_NAMES[state] ?? state,
      txQueue: tx,
      rxQueue: rx,
      why,
      weight,
      // Timer kind and expiry, retransmits, uid, probes, inode, rto...: what a person needs to tell why it is still there.
      proc: cols.slice(5).join(' '),
    });
    // A socket already in retransmission backoff is waiting on a peer that went away (typically one
    // left from an earlier tenure of the VIP, or by a killed predecessor): it would hold every drain
    // to its bound for minutes, and there is nobody left to strand. So is one whose last window or
    // keep-alive probe went unanswered (the `timeout` column, icsk_probes_out; any ACK resets it):
    // a FIN the kernel could not even send because the address had gone (a kill -9 let the kernel
    // close the sockets, then the VIP was dropped) waits on the zero-window probe timer, and its
    // retransmit count stays 0 because nothing was ever transmitted.
    const stalled = (parseInt(retransmits ?? '0', 16) || 0) > 0 || (parseInt(probes ?? '0', 10) || 0) > 0;
    if (state === LISTEN) {
      if ((own.has(host) || wild.has(host)) && rx > 0) found.push(entry('accept-queue', rx));
      continue;
    }
    if (!own.has(host) || stalled) continue;
    if (state === SYN_RECV) found.push(entry('half-open', 1));
    else if (tx > 0) found.push(entry('unacknowledged', 1));
  }
  return found;
}

/** The count pendingSockets() describes. */
export function countPending(procText: string, ip: string, littleEndian = endianness() === 'LE'): number {
  return pendingSockets(procText, ip, littleEndian).reduce((n, s) => n + s.weight, 0);
}

/** The /proc/net/tcp and tcp6 text: through `runner` when one points elsewhere (a namespace), else this process's /proc. */
async function procTcpText(runner: CommandRunner | null, timeoutMs: number): Promise<string> {
  if (runner) {
    const [v4, v6] = await Promise.all([
      runner.run('cat', ['/proc/net/tcp'], { timeoutMs }),
      // Absent when IPv6 is disabled.
      runner.run('cat', ['/proc/net/tcp6'], { timeoutMs }).catch(() => ({ stdout: '' })),
    ]);
    return `${v4.stdout}\n${v6.stdout}`;
  }
  const files = await Promise.all(['/proc/net/tcp', '/proc/net/tcp6'].map((f) => readFile(f, 'utf8').catch(() => '')));
  return files.join('\n');
}

export async function pendingOnVip(ip: string, runner: CommandRunner | null, timeoutMs: number): Promise<number> {
  return countPending(await procTcpText(runner, timeoutMs), ip);
}

export async function pendingSocketsOnVip(ip: string, runner: CommandRunner | null, timeoutMs: number): Promise<PendingSocket[]> {
  return pendingSockets(await procTcpText(runner, timeoutMs), ip);
}
