// wrk as the HTTP load generator: runs it for a bounded duration and parses its --latency report.
import type { ChildProcesses } from './children.js';
import type { Endpoint, WrkResult } from './types.js';

export interface WrkOptions {
  seconds: number;
  connections: number;
  threads: number;
  /** Send `Connection: close`: one TCP connection per request. */
  close: boolean;
  /** Over TLS (wrk does not verify the certificate). */
  https?: boolean;
  /** Request target, "/" by default. */
  path?: string;
}

const UNIT_US: Record<string, number> = { us: 1, ms: 1e3, s: 1e6, m: 60e6, h: 3600e6 };

/** "812.00us", "1.23ms", "2.01s" -> microseconds. */
export function parseDuration(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(text.trim());
  const unit = m?.[2] ? UNIT_US[m[2]] : undefined;
  if (!m?.[1] || unit === undefined) throw new Error(`wrk: cannot parse duration "${text}"`);
  return Number(m[1]) * unit;
}

export function parseWrk(output: string): WrkResult {
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(output);
  const total = /^\s*(\d+) requests in /m.exec(output);
  const p50 = /^\s+50%\s+(\S+)/m.exec(output);
  const p99 = /^\s+99%\s+(\S+)/m.exec(output);
  if (!rps?.[1] || !total?.[1] || !p50?.[1] || !p99?.[1]) {
    throw new Error(`wrk: unexpected output:\n${output.trim().slice(0, 800)}`);
  }
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(output);
  return {
    cpu: null,
    requestsPerSec: Number(rps[1]),
    requests: Number(total[1]),
    p50Us: parseDuration(p50[1]),
    p99Us: parseDuration(p99[1]),
    socketErrors: {
      connect: Number(sock?.[1] ?? 0),
      read: Number(sock?.[2] ?? 0),
      write: Number(sock?.[3] ?? 0),
      timeout: Number(sock?.[4] ?? 0),
    },
    non2xx3xx: Number(non2xx?.[1] ?? 0),
  };
}

export async function runWrk(children: ChildProcesses, target: Endpoint, opts: WrkOptions): Promise<WrkResult> {
  const args = [
    '--latency',
    '-t', String(opts.threads),
    '-c', String(opts.connections),
    '-d', `${opts.seconds}s`,
    // Longer than any latency we expect; a timeout shows up as a socket error instead of a stall.
    '--timeout', '5s',
    ...(opts.close ? ['-H', 'Connection: close'] : []),
    `${opts.https === true ? 'https' : 'http'}://${target.host}:${target.port}${opts.path ?? '/'}`,
  ];
  const t = children.spawn('wrk', 'wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  t.child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  t.child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const code = await t.exited;
  if (code !== 0) throw new Error(`wrk exited ${String(code)}: ${out.trim().slice(0, 400)}`);
  return parseWrk(out);
}
