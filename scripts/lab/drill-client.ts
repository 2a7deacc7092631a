// The drill's client: a bounded request loop run INSIDE the client namespace (one new connection per
// request, short timeout, a JSON line per result), and the gap analysis of what it saw.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { spawnIn } from './netns.js';

export interface ClientResult {
  seq: number;
  /** When the request was started and when it ended (success, error or timeout), ms since the epoch. */
  t0: number;
  t1: number;
  ok: boolean;
  status: number | null;
  /** Socket error code, or "timeout". */
  error: string | null;
  /** What the drill's backend answered: its name and the address the request came from (the serving node). */
  backend: string | null;
  via: string | null;
}

export interface ClientLoopOptions {
  /** Pause between request starts (a slower request delays the next one). Default 20. */
  intervalMs?: number;
  /** Whole-request bound: connect, send, response. Default 800 (below the kernel's 1 s SYN retransmit). */
  timeoutMs?: number;
  /** Bounds on the loop; it stops by itself at either. Defaults 20 000 requests and 120 s. */
  maxCount?: number;
  maxMs?: number;
  /** Reuse one keep-alive connection across requests (as a browser or an API client would). Default false: a new connection each. */
  keepAlive?: boolean;
}

export interface ClientLoop {
  readonly results: readonly ClientResult[];
  /** Resolves with the first result (already seen or coming) that passes `match`; rejects after `timeoutMs`. */
  waitFor(match: (r: ClientResult) => boolean, timeoutMs: number): Promise<ClientResult>;
  /** Ends the loop (after its request in flight) and resolves with every result. */
  stop(): Promise<ClientResult[]>;
}

// Plain JavaScript: it runs in a bare `node` inside the client namespace.
const CLIENT = `
const http = require('node:http');
const [url, intervalText, timeoutText, maxCountText, maxMsText, keepAliveText] = process.argv.slice(1);
const keepAlive = keepAliveText === '1';
const agent = keepAlive ? new http.Agent({ keepAlive: true, maxSockets: 1 }) : false;
const interval = Number(intervalText), timeout = Number(timeoutText), maxCount = Number(maxCountText), maxMs = Number(maxMsText);
const started = Date.now();
let stopping = false, seq = 0;
process.on('SIGTERM', () => { stopping = true; });
const write = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
function next() {
  if (stopping || seq >= maxCount || Date.now() - started >= maxMs) return;
  const t0 = Date.now(), n = seq++;
  let done = false;
  const finish = (o) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    write({ seq: n, t0, t1: Date.now(), backend: null, via: null, status: null, error: null, ...o });
    setTimeout(next, Math.max(0, t0 + interval - Date.now()));
  };
  const req = http.get(url, keepAlive ? { agent } : { agent: false, headers: { connection: 'close' } }, (res) => {
    const chunks = [];
    res.on('data', (c) => chunks.push(c));
    res.on('end', () => {
      let who = {};
      try { who = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch {}
      finish({ ok: res.statusCode === 200, status: res.statusCode, backend: who.backend ?? null, via: who.via ?? null });
    });
    res.on('error', (e) => finish({ ok: false, error: e.code || e.message }));
  });
  const timer = setTimeout(() => { req.destroy(); finish({ ok: false, error: 'timeout' }); }, timeout);
  req.on('error', (e) => finish({ ok: false, error: e.code || e.message }));
}
next();
`;

/** Starts the loop in `ns` against `url` (e.g. http://198.18.0.100:8080/). */
export function startClientLoop(ns: string, url: string, options: ClientLoopOptions = {}): ClientLoop {
  const intervalMs = options.intervalMs ?? 20;
  const timeoutMs = options.timeoutMs ?? 800;
  const maxCount = options.maxCount ?? 20_000;
  const maxMs = options.maxMs ?? 120_000;
  const args = ['-e', CLIENT, url, String(intervalMs), String(timeoutMs), String(maxCount), String(maxMs), options.keepAlive === true ? '1' : '0'];
  const child: ChildProcess = spawnIn(ns, process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  const exited = once(child, 'exit');
  const results: ClientResult[] = [];
  const waiters = new Set<{ match: (r: ClientResult) => boolean; resolve: (r: ClientResult) => void }>();
  const lines = createInterface({ input: child.stdout! });
  lines.on('line', (line) => {
    let r: ClientResult;
    try {
      r = JSON.parse(line) as ClientResult;
    } catch {
      return;
    }
    results.push(r);
    for (const w of waiters) {
      if (!w.match(r)) continue;
      waiters.delete(w);
      w.resolve(r);
    }
  });

  return {
    results,
    waitFor(match, waitMs) {
      const seen = results.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise<ClientResult>((resolve, reject) => {
        const waiter = {
          match,
          resolve: (r: ClientResult) => {
            clearTimeout(timer);
            resolve(r);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`client loop: no matching result within ${waitMs} ms (${results.length} results so far)`));
        }, waitMs);
        waiters.add(waiter);
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        // The request in flight ends within timeoutMs; beyond that, something is wrong with the loop itself.
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs + 5000);
        await exited;
        clearTimeout(timer);
      }
      lines.close();
      return [...results];
    },
  };
}

export interface Gap {
  /** Start of the first failed request of the stretch. */
  fromMs: number;
  /** End of the next successful request; null when none came. */
  toMs: number | null;
  /** toMs - fromMs (or to the last result's end when unrecovered). */
  durationMs: number;
  failures: number;
  /** Why the stretch's requests failed, with counts (ECONNREFUSED, timeout, 503, ...). */
  causes: Record<string, number>;
}

export interface GapReport {
  requests: number;
  failures: number;
  /** Every stretch of failures, in time order. */
  gaps: Gap[];
  /** The longest stretch, or null when nothing failed. */
  longest: Gap | null;
  /** True when the last request failed (a stretch that never recovered). */
  unrecovered: boolean;
  /** Slowest successful request, ms. */
  maxLatencyMs: number;
}

/** Longest stretch from a first failure to the next success, over the results started at or after `sinceMs`. */
export function analyzeGaps(results: readonly ClientResult[], sinceMs = 0): GapReport {
  const rs = results.filter((r) => r.t0 >= sinceMs).sort((a, b) => a.seq - b.seq);
  const gaps: Gap[] = [];
  let open: Gap | null = null;
  let maxLatencyMs = 0;
  for (const r of rs) {
    if (r.ok) {
      maxLatencyMs = Math.max(maxLatencyMs, r.t1 - r.t0);
      if (open) {
        open.toMs = r.t1;
        open.durationMs = r.t1 - open.fromMs;
        gaps.push(open);
        open = null;
      }
      continue;
    }
    open ??= { fromMs: r.t0, toMs: null, durationMs: 0, failures: 0, causes: {} };
    open.failures++;
    const cause = r.error ?? String(r.status);
    open.causes[cause] = (open.causes[cause] ?? 0) + 1;
    open.durationMs = r.t1 - open.fromMs;
  }
  if (open) gaps.push(open);
  const longest = gaps.reduce<Gap | null>((a, g) => (a === null || g.durationMs > a.durationMs ? g : a), null);
  return {
    requests: rs.length,
    failures: rs.filter((r) => !r.ok).length,
    gaps,
    longest,
    unrecovered: open !== null,
    maxLatencyMs,
  };
}
