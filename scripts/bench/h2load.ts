// h2load (nghttp2-client) as the HTTP/2 load generator: a run over TLS with ALPN h2, parsed into
// the same shape as wrk's report. h2load prints no latency percentiles, so those are NaN.
//
// Runs are count-based (-n), sized from the rate the previous run against the same target measured,
// never timing-based (-D): h2load 1.52's -D stops only the clients whose connection was up when the
// duration ended; a client still in its TLS handshake then connects and loads the server for good
// (Worker::stop_all_clients skips clients without a session; Client::connection_made starts
// requesting whatever the phase). Against a target slower to accept 50 handshakes than -D lasts,
// h2load never finished: traced 2026-11-23, the sessions left were exactly those opened after -D,
// every one of their streams answered, at ~300 req/s, for as long as h2load ran.
import type { ChildProcesses } from './children.js';
import type { Endpoint, WrkResult } from './types.js';

/** h2load -m: concurrent streams on each connection, so h2's multiplexing is what gets measured. */
export const H2_STREAMS_PER_CONNECTION = 10;
/** h2load -c. */
export const H2_CONNECTIONS = 50;
/** Requests per stream slot of the first (calibration) run against a target, before its rate is known. */
const CALIBRATION_ROUNDS = 8;
/** Fewer than this many requests per stream slot measures connection setup more than streaming. */
const MIN_ROUNDS = 4;
const MAX_REQUESTS = 5_000_000;

/** Last measured req/s per target (host:port), to size the next run's -n to about `seconds`. */
const lastRate = new Map<string, number>();

/** -n for a run of about `seconds` against a target that last did `rate` req/s (undefined: not measured yet). */
export function h2RequestCount(rate: number | undefined, seconds: number, slots: number): number {
  if (rate === undefined || !Number.isFinite(rate) || rate <= 0) return slots * CALIBRATION_ROUNDS;
  return Math.min(MAX_REQUESTS, Math.max(slots * MIN_ROUNDS, Math.round(rate * seconds)));
}

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
  const key = `${target.host}:${target.port}`;
  const requests = h2RequestCount(lastRate.get(key), opts.seconds, opts.connections * opts.streams);
  const args = [
    '-n', String(requests),
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
  // A run sized for `seconds` that takes many times longer has streams nobody answers: a failure.
  const boundS = Math.max(30, opts.seconds * 6) + 15;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void children.stop(t, 2000);
  }, boundS * 1000);
  const code = await t.exited;
  clearTimeout(timer);
  if (timedOut) throw new Error(`h2load -n ${requests} did not finish within ${boundS} s: ${out.trim().slice(-300)}`);
  if (code !== 0) throw new Error(`h2load exited ${String(code)}: ${out.trim().slice(-400)}`);
  if (/No protocol negotiated/i.test(out)) throw new Error(`h2load: the server did not negotiate h2 (ALPN)`);
  const result = parseH2load(out);
  lastRate.set(key, result.requestsPerSec);
  return result;
}
