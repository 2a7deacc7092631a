// The edge scenarios of `npm run bench`: cache hits (Ballast's cached route vs nginx proxy_cache on
// the same origins and content) and the cost of the rule set (access rules + request filter + a
// rate limit that refuses nothing, vs the same route without them). Interleaved runs, median shown.
import type { ChildProcesses } from './children.js';
import { cpuPerUnit, describeRun, isWrk, medianOf } from './report.js';
import type { Cell, Endpoint, Measured, WrkResult } from './types.js';
import { runWrk } from './wrk.js';
import { groupCpuMs } from './group-cpu.js';

export const EDGE_SCENARIOS = ['cache-hit', 'rules-cost'] as const;
export type EdgeScenario = (typeof EDGE_SCENARIOS)[number];

/** The cacheable object: the origins mark /cached/ responses `public, max-age=3600`. */
export const CACHED_PATH = '/cached/item';
/** A request the filter has something to read in: a path and a query string, nothing it blocks. */
export const RULES_PATH = '/products/list?page=2&sort=name&q=blue+shoes';

export interface EdgeSettings {
  rounds: number;
  seconds: number;
  warmupSeconds: number;
  connections: number;
  threads: number;
}

/** A measured side: where wrk goes, which process group pays, or why it is missing. */
export interface EdgeSide {
  label: string;
  endpoint: Endpoint;
  pgid: number;
}

export interface EdgeComparison {
  scenario: EdgeScenario;
  path: string;
  /** Ballast's cached route / rules off. */
  a: Cell<EdgeSide>;
  /** nginx / rules on. */
  b: Cell<EdgeSide>;
}

export interface EdgeResult {
  scenario: EdgeScenario;
  labels: [string, string];
  cells: [Cell<Measured>, Cell<Measured>];
}

async function probe(side: EdgeSide, path: string, expectHit: boolean): Promise<void> {
  const url = `http://${side.endpoint.host}:${side.endpoint.port}${path}`;
  let last = '';
  // The first answer fills the cache; the next ones must be hits.
  for (let i = 0; i < 3; i++) {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    const body = await res.arrayBuffer();
    last = `${res.status}, ${body.byteLength} bytes, X-Cache ${res.headers.get('x-cache') ?? '-'}`;
    if (res.status !== 200 || body.byteLength !== 1024) throw new Error(`${side.label}: probe GET ${path} answered ${last} (want 200, 1024 bytes)`);
  }
  if (expectHit && !/HIT/i.test(last)) throw new Error(`${side.label}: GET ${path} is not a cache hit on the third try (${last})`);
}

/**
 * Warm-up before a side's first run, at least this long: Ballast's cache-hit path had never run
 * before this phase, and with a 1 s warm-up its five runs climbed 2.9k -> 9.1k -> 11.5k -> 15.7k ->
 * 16.4k req/s (V8 optimizing it; nginx was flat at 19-24k). A warm path is what production sees.
 */
export const EDGE_MIN_WARMUP_S = 5;

async function measure(children: ChildProcesses, s: EdgeSettings, side: EdgeSide, path: string, warm: boolean): Promise<WrkResult> {
  const base = { connections: s.connections, threads: s.threads, close: false, path };
  if (warm) await runWrk(children, side.endpoint, { ...base, seconds: Math.max(s.warmupSeconds, EDGE_MIN_WARMUP_S) });
  const cpu0 = groupCpuMs(side.pgid);
  const t0 = performance.now();
  const m = await runWrk(children, side.endpoint, { ...base, seconds: s.seconds });
  const cpu1 = groupCpuMs(side.pgid);
  m.cpu = cpu0 === null || cpu1 === null ? null : { ms: cpu1 - cpu0, wallMs: performance.now() - t0 };
  return m;
}

/** Runs every comparison, both sides alternating first round by round; logs each run to `log`. */
export async function runEdgeBench(children: ChildProcesses, s: EdgeSettings, comparisons: EdgeComparison[], log: (line: string) => void): Promise<EdgeResult[]> {
  const results: EdgeResult[] = [];
  for (const c of comparisons) {
    const sides = [c.a, c.b];
    for (const [i, side] of sides.entries()) {
      if (!side.ok) continue;
      try {
        await probe(side.value, c.path, c.scenario === 'cache-hit');
      } catch (err) {
        sides[i] = { ok: false, reason: err instanceof Error ? err.message : String(err) };
      }
    }
    const runs = sides.map(() => ({ ok: [] as WrkResult[], failed: [] as string[] }));
    for (let round = 0; round < s.rounds; round++) {
      const order = round % 2 === 0 ? [0, 1] : [1, 0];
      for (const i of order) {
        const side = sides[i];
        const mine = runs[i];
        if (side === undefined || !side.ok || mine === undefined) continue;
        const label = `  ${c.scenario} via ${side.value.label}, run ${round + 1}/${s.rounds}`;
        try {
          const m = await measure(children, s, side.value, c.path, mine.ok.length === 0 && mine.failed.length === 0);
          mine.ok.push(m);
          log(`${label}: ${describeRun(m)}${m.non2xx3xx > 0 ? `, ${m.non2xx3xx} non-2xx/3xx` : ''}`);
        } catch (err) {
          const why = err instanceof Error ? err.message : String(err);
          mine.failed.push(why);
          log(`${label}: failed: ${why}`);
        }
      }
    }
    const cell = (i: number): Cell<Measured> => {
      const side = sides[i];
      if (side === undefined || !side.ok) return { ok: false, reason: side?.ok === false ? side.reason : 'missing' };
      const mine = runs[i];
      const m = mine === undefined ? null : medianOf(mine.ok, mine.failed);
      return m === null ? { ok: false, reason: mine?.failed.join('; ') || 'no run' } : { ok: true, value: m };
    };
    const labelOf = (side: Cell<EdgeSide> | undefined, fallback: string): string => (side?.ok === true ? side.value.label : fallback);
    results.push({ scenario: c.scenario, labels: [labelOf(sides[0], 'a'), labelOf(sides[1], 'b')], cells: [cell(0), cell(1)] });
  }
  return results;
}

function wrkOf(c: Cell<Measured>): WrkResult | null {
  return c.ok && isWrk(c.value.median) ? c.value.median : null;
}

function spread(m: Measured): string {
  const h = m.headlines;
  const mid = isWrk(m.median) ? m.median.requestsPerSec : 0;
  if (h.length < 2 || mid <= 0) return '';
  return ` ±${(((Math.max(...h) - Math.min(...h)) / 2 / mid) * 100).toFixed(0)}%`;
}

/**
 * cache-hit: Ballast / nginx ratio of requests/s and CPU per request. rules-cost: on / off ratio,
 * and what the rules add per request twice over: CPU time (the balancer's processes, per request)
 * and 1e6/rate (time per request at this concurrency, which a loaded box blurs more).
 */
export function formatEdge(results: EdgeResult[], connections: number): string {
  const lines: string[] = [];
  for (const r of results) {
    const [a, b] = r.cells;
    const title = r.scenario === 'cache-hit' ? `cache hit (1 KiB, max-age), keep-alive c=${connections}` : `rule set cost (access + filter + rate limit), keep-alive c=${connections}`;
    lines.push(`${title}: ${r.labels[0]} vs ${r.labels[1]}`);
    const show = (label: string, c: Cell<Measured>): string => {
      if (!c.ok) return `  ${label}: n/a (${c.reason})`;
      const m = c.value.median;
      if (!isWrk(m)) return `  ${label}: ?`;
      const cpu = cpuPerUnit(m);
      const errors = m.non2xx3xx + m.socketErrors.connect + m.socketErrors.read + m.socketErrors.write + m.socketErrors.timeout;
      return `  ${label}: ${m.requestsPerSec.toFixed(0)} req/s${spread(c.value)}, p50 ${(m.p50Us / 1000).toFixed(2)} ms, p99 ${(m.p99Us / 1000).toFixed(2)} ms, CPU ${cpu ? `${cpu.perUnit.toFixed(0)} us/req (${cpu.cores.toFixed(2)} cores)` : '?'}${errors > 0 ? `, ${m.non2xx3xx} non-2xx/3xx + ${errors - m.non2xx3xx} socket errors` : ''} [runs: ${c.value.headlines.map((x) => x.toFixed(0)).join(', ')}]`;
    };
    lines.push(show(r.labels[0], a), show(r.labels[1], b));
    const wa = wrkOf(a);
    const wb = wrkOf(b);
    if (wa !== null && wb !== null && wa.requestsPerSec > 0 && wb.requestsPerSec > 0) {
      const ca = cpuPerUnit(wa);
      const cb = cpuPerUnit(wb);
      if (r.scenario === 'cache-hit') {
        lines.push(`  Ballast/nginx: ${(wa.requestsPerSec / wb.requestsPerSec).toFixed(2)}x req/s; CPU per request ${ca && cb && cb.perUnit > 0 ? `${(ca.perUnit / cb.perUnit).toFixed(1)}x` : '?'}`);
      } else {
        const wall = 1e6 / wb.requestsPerSec - 1e6 / wa.requestsPerSec;
        lines.push(
          `  on/off: ${(wb.requestsPerSec / wa.requestsPerSec).toFixed(2)}x req/s; rules add ${ca && cb ? `${(cb.perUnit - ca.perUnit).toFixed(0)} us CPU` : '? us CPU'} per request, ${wall.toFixed(1)} us of 1e6/rate`,
        );
      }
    }
  }
  return lines.join('\n');
}
