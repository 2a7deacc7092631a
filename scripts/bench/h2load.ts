// h2load (nghttp2-client) as the HTTP/2 load generator: a timing-based run over TLS with ALPN h2,
// parsed into the same shape as wrk's report. h2load prints no latency percentiles, so those are NaN.
import type { ChildProcesses } from './children.js';
import type { Endpoint, WrkResult } from './types.js';

/** h2load -m: concurrent streams on each connection, so h2's multiplexing is what gets measured. */
export const H2_STREAMS_PER_CONNECTION = 10;
/**
 * h2load -c, fixed rather than --connections: at 50 x 10 streams h2load against Ballast did not
 * finish after -D (streams left unanswered; seen 2026-11-23, see docs/BENCH.md), at 10 x 10 it does.
 */
export const H2_CONNECTIONS = 10;

export interface H2loadOptions {
  seconds: number;
  connections: number;
  /** Concurrent streams per connection (h2load -m). */
  streams: number;
  threads: number;
}

export function parseH2load(output: string): WrkResult {
  const finished = /^finished in ([\d.]+)s, ([\d.]+) req\/s/m.exec(output);
  const req = /^requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/m.exec(output);
  const codes = /^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/m.exec(output);
  if (!finished?.[2] || !req?.[3] || !codes?.[1]) throw new Error(`h2load: unexpected output:\n${output.trim().slice(-800)}`);
  const succeeded = Number(req[3]);
  // h2load exits 0 when it cannot connect at all; no answer is a failure, not 0 req/s.
  if (succeeded === 0) throw new Error(`h2load: no request succeeded:\n${output.trim().slice(-600)}`);
  return {
    cpu: null,
    requestsPerSec: Number(finished[2]),
    requests: succeeded,
    p50Us: Number.NaN,
    p99Us: Number.NaN,
    socketErrors: { connect: 0, read: Number(req[5] ?? 0), write: 0, timeout: Number(req[6] ?? 0) },
    non2xx3xx: Number(codes[3] ?? 0) + Number(codes[4] ?? 0),
  };
}

export async function runH2load(children: ChildProcesses, target: Endpoint, opts: H2loadOptions): Promise<WrkResult> {
  const args = [
    '-D', String(opts.seconds),
    '-c', String(opts.connections),
    '-m', String(opts.streams),
    '-t', String(Math.min(opts.threads, opts.connections)),
    // h2load does not verify certificates, so the self-signed one needs no flag.
    `https://${target.host}:${target.port}/`,
  ];
  const t = children.spawn('h2load', 'h2load', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  t.child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  t.child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  // h2load waits for every stream of a stuck connection past -D; a bound turns that into a failure.
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void children.stop(t, 2000);
  }, (opts.seconds + 15) * 1000);
  const code = await t.exited;
  clearTimeout(timer);
  if (timedOut) throw new Error(`h2load did not finish within ${opts.seconds + 15} s: ${out.trim().slice(-300)}`);
  if (code !== 0) throw new Error(`h2load exited ${String(code)}: ${out.trim().slice(-400)}`);
  if (/No protocol negotiated/i.test(out)) throw new Error(`h2load: the server did not negotiate h2 (ALPN)`);
  return parseH2load(out);
}
