// The kernel's view of TCP work on the VIP (`ss -tan`): connections no worker has accepted yet and
// connections whose bytes the client has not acknowledged, which a VIP release would strand.
import type { CommandRunner } from './types.js';

/**
 * Counts, from `ss -Htan` output, the TCP work on `ip` that dropping the address would break:
 * half-open connections to it (SYN-RECV), connections waiting in the accept queue of a listener
 * that takes it (bound to it or to a wildcard; Recv-Q of a LISTEN line), and connections from it
 * with bytes or a FIN not yet acknowledged (Send-Q of any other line).
 */
export function countPending(ssOutput: string, ip: string): number {
  let pending = 0;
  for (const line of ssOutput.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 5) continue;
    const [state, recvQ, sendQ, local] = cols as [string, string, string, string];
    const host = local.slice(0, local.lastIndexOf(':')).replace(/^\[|\]$/g, '').replace(/%.*$/, '');
    if (state === 'LISTEN') {
      if (host === ip || host === '0.0.0.0' || host === '*' || host === '::' || host === `::ffff:${ip}`) pending += Number(recvQ) || 0;
      continue;
    }
    if (host !== ip && host !== `::ffff:${ip}`) continue;
    if (state === 'SYN-RECV') pending += 1;
    else pending += Number(sendQ) > 0 ? 1 : 0;
  }
  return pending;
}

export async function pendingOnVip(runner: CommandRunner, ip: string, timeoutMs: number): Promise<number> {
  const { stdout } = await runner.run('ss', ['-Htan'], { timeoutMs });
  return countPending(stdout, ip);
}
