// The edge part of `npm run bench`, run while Ballast (with its edge listeners) is up: starts nginx
// for cache-hit, pairs the sides, measures (edge-bench.ts), prints the report and the in-process
// rule cost (gate-cost.ts).
import { loadavg } from 'node:os';
import { join } from 'node:path';
import type { ChildProcesses } from './children.js';
import { CACHED_PATH, EDGE_MIN_WARMUP_S, formatEdge, RULES_PATH, runEdgeBench, type EdgeComparison, type EdgeResult, type EdgeScenario, type EdgeSettings, type EdgeSide } from './edge-bench.js';
import { measureGateCost } from './gate-cost.js';
import { freePort } from './local-port.js';
import { nginxVersion, startNginx } from './nginx.js';
import type { Cell, Endpoint } from './types.js';

export interface EdgePhaseSettings extends EdgeSettings {
  edge: EdgeScenario[];
  workers: number;
}

/** Ballast's edge listeners and its process group, or why there are none. */
export type EdgeBallast = { cachePort: number; rulesPort: number; web: number; pgid: number } | string;

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export async function runEdgePhase(
  children: ChildProcesses,
  s: EdgePhaseSettings,
  at: { dir: string; host: string; origins: Endpoint[]; ballast: EdgeBallast },
): Promise<EdgeResult[]> {
  const { ballast, host } = at;
  const side = (label: string, port: (b: Exclude<EdgeBallast, string>) => number): Cell<EdgeSide> =>
    typeof ballast === 'string' ? { ok: false, reason: ballast } : { ok: true, value: { label, endpoint: { host, port: port(ballast) }, pgid: ballast.pgid } };
  const comparisons: EdgeComparison[] = [];
  if (s.edge.includes('cache-hit')) {
    let nginx: Cell<EdgeSide>;
    try {
      const port = await freePort();
      const t = await startNginx(children, { host, port, origins: at.origins, workers: s.workers, dir: join(at.dir, 'nginx') });
      nginx = { ok: true, value: { label: 'nginx', endpoint: { host, port }, pgid: t.child.pid ?? 0 } };
    } catch (err) {
      nginx = { ok: false, reason: errorText(err) };
    }
    comparisons.push({ scenario: 'cache-hit', path: CACHED_PATH, a: side('Ballast cache', (b) => b.cachePort), b: nginx });
  }
  if (s.edge.includes('rules-cost')) {
    comparisons.push({ scenario: 'rules-cost', path: RULES_PATH, a: side('rules off', (b) => b.web), b: side('rules on', (b) => b.rulesPort) });
  }
  process.stdout.write(
    `\nedge scenarios, load avg ${loadavg().map((l) => l.toFixed(2)).join(' / ')} before; ${nginxVersion()} (proxy_cache on disk + page cache, ` +
      `proxy_cache_lock, worker_processes ${s.workers}, upstream keepalive 64); Ballast: cached route (memory) / ` +
      `allow+deny CIDRs, request filter (block), rate limit 100000/s per IP; the same origins; ` +
      `${Math.max(s.warmupSeconds, EDGE_MIN_WARMUP_S)} s warm-up per side:\n`,
  );
  const results = await runEdgeBench(children, s, comparisons, (line) => process.stderr.write(`${line}\n`));
  process.stdout.write(`${formatEdge(results, s.connections)}\n`);
  if (s.edge.includes('rules-cost')) {
    // The checks' CPU alone, off the wire; nothing else of the benchmark runs meanwhile.
    try {
      const g = await measureGateCost();
      process.stdout.write(
        `  in process (HttpGate.check x ${g.calls}, best of 2, load ${loadavg()[0]?.toFixed(2) ?? '?'}): rules off ${g.offUs.toFixed(2)} us, rules on ${g.onUs.toFixed(2)} us of CPU per request\n`,
      );
    } catch (err) {
      process.stdout.write(`  in process: failed: ${errorText(err)}\n`);
    }
  }
  return results;
}
