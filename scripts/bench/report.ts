// The benchmark's table: one row per scenario metric, Ballast / HAProxy / direct, the
// Ballast/HAProxy ratio and the issue's targets as PASS/BELOW (a report, not an assertion).
import { H2_CONNECTIONS, H2_STREAMS_PER_CONNECTION } from './h2load.js';
import type { Cell, Measured, Measurement, ScenarioName, ScenarioResult, TargetName, WrkResult } from './types.js';

export const TARGETS: Partial<Record<ScenarioName, number>> = { 'http-keepalive': 0.5, 'tcp-bulk': 0.8 };

const COLUMN_TITLES: Record<TargetName, string> = {
  ballast: 'Ballast',
  haproxy: 'HAProxy',
  direct: 'direct',
  'node-floor': 'node floor',
};
const ALWAYS: TargetName[] = ['ballast', 'haproxy', 'direct'];

/** The reason given for targets left out with --targets: a dash in the table, no note. */
export const NOT_SELECTED = 'not selected';
/** The reason for targets a scenario cannot use (no TLS listener on direct or node-floor): also a dash. */
export const NOT_APPLICABLE = 'not applicable';

function quiet(reason: string): boolean {
  return reason === NOT_SELECTED || reason === NOT_APPLICABLE;
}

export function scenarioTitle(s: ScenarioName, connections: number, streams: number): string {
  switch (s) {
    case 'http-keepalive':
      return `HTTP keep-alive, c=${connections}`;
    case 'http-close':
      return `HTTP conn-per-request, c=${connections}`;
    case 'tcp-bulk':
      return `TCP bulk, ${streams} stream${streams === 1 ? '' : 's'}`;
    case 'tls-handshake':
      return `TLS handshake (https conn-per-request), c=${connections}`;
    case 'https-keepalive':
      return `HTTPS keep-alive, c=${connections}`;
    case 'h2':
      return `h2 (h2load), c=${H2_CONNECTIONS} m=${H2_STREAMS_PER_CONNECTION}`;
    default: {
      const never: never = s;
      throw new Error(`unknown scenario ${String(never)}`);
    }
  }
}

export function isWrk(v: Measurement): v is WrkResult {
  return 'requestsPerSec' in v;
}

/** The scenario's headline number: requests/s or MB/s. */
export function headlineOf(v: Measurement): number {
  return isWrk(v) ? v.requestsPerSec : v.mbPerSec;
}

/** Picks the median run by headline (the lower middle one for an even count). */
export function medianOf(runs: Measurement[], failures: string[]): Measured | null {
  const sorted = [...runs].sort((a, b) => headlineOf(a) - headlineOf(b));
  const median = sorted[Math.floor((sorted.length - 1) / 2)];
  return median ? { median, headlines: runs.map(headlineOf), failures } : null;
}

/** CPU per unit of work (µs per request, or s per GB) and the cores that amounted to. */
export function cpuPerUnit(m: Measurement): { perUnit: number; cores: number } | null {
  if (!m.cpu || m.cpu.wallMs <= 0) return null;
  const cores = m.cpu.ms / m.cpu.wallMs;
  if (isWrk(m)) return m.requests > 0 ? { perUnit: (m.cpu.ms * 1000) / m.requests, cores } : null;
  return m.bytes > 0 ? { perUnit: m.cpu.ms / 1000 / (m.bytes / 1e9), cores } : null;
}

function formatCpu(m: Measurement): string {
  const c = cpuPerUnit(m);
  if (!c) return '?';
  return `${c.perUnit < 10 ? c.perUnit.toFixed(2) : c.perUnit.toFixed(0)} (${c.cores.toFixed(2)})`;
}

/** One line per run for the progress log. */
export function describeRun(v: Measurement): string {
  const c = cpuPerUnit(v);
  const cpu = c ? `; ${c.cores.toFixed(2)} cores` : '';
  return isWrk(v)
    ? `${v.requestsPerSec.toFixed(0)} req/s, p50 ${ms(v.p50Us)} ms, p99 ${ms(v.p99Us)} ms${cpu}${c ? `, ${c.perUnit.toFixed(0)} us CPU/req` : ''}`
    : `${v.mbPerSec.toFixed(0)} MB/s (${(v.bytes / 2 ** 20).toFixed(0)} MiB in ${(v.ms / 1000).toFixed(1)} s)${cpu}${c ? `, ${c.perUnit.toFixed(2)} s CPU/GB` : ''}`;
}

function headline(c: Cell<Measured>): number | null {
  return c.ok ? headlineOf(c.value.median) : null;
}

function ms(us: number): string {
  // h2load reports no percentiles.
  if (!Number.isFinite(us)) return '?';
  return us >= 100_000 ? (us / 1000).toFixed(0) : (us / 1000).toFixed(2);
}

/** "10281 ±4%": median, and half the min-max range relative to it when there were several runs. */
function withSpread(m: Measured): string {
  const h = headlineOf(m.median);
  if (m.headlines.length < 2 || h <= 0) return h.toFixed(0);
  const spread = (Math.max(...m.headlines) - Math.min(...m.headlines)) / 2 / h;
  return `${h.toFixed(0)} ±${(spread * 100).toFixed(0)}%`;
}

function pad(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
}

export interface Verdict {
  scenario: ScenarioName;
  ratio: number | null;
  target: number;
  pass: boolean | null;
}

export function verdicts(results: ScenarioResult[]): Verdict[] {
  return results.flatMap((r) => {
    const target = TARGETS[r.scenario];
    if (target === undefined) return [];
    const b = headline(r.cells.ballast);
    const h = headline(r.cells.haproxy);
    const ratio = b !== null && h !== null && h > 0 ? b / h : null;
    return [{ scenario: r.scenario, ratio, target, pass: ratio === null ? null : ratio >= target }];
  });
}

function notesFor(t: TargetName, r: ScenarioResult): string[] {
  const c = r.cells[t];
  if (!c.ok) return quiet(c.reason) ? [] : [`${t} ${r.scenario}: ${c.reason}`];
  const notes = c.value.failures.map((f) => `${t} ${r.scenario}: a run failed: ${f}`);
  const m = c.value.median;
  if (isWrk(m)) {
    const e = m.socketErrors;
    if (e.connect + e.read + e.write + e.timeout > 0 || m.non2xx3xx > 0) {
      notes.push(
        `${t} ${r.scenario} (median run): ${m.non2xx3xx} non-2xx/3xx of ${m.requests}; socket errors connect ${e.connect}, read ${e.read}, write ${e.write}, timeout ${e.timeout}`,
      );
    }
  }
  return notes;
}

export function formatTable(results: ScenarioResult[], connections: number, streams: number): string {
  const selected = (t: TargetName) => results.some((r) => r.cells[t].ok || !quiet(r.cells[t].reason));
  const extra = (['node-floor'] as TargetName[]).filter(selected);
  const columns = [...ALWAYS, ...extra];
  const rows: string[][] = [['scenario', 'metric', ...columns.map((t) => COLUMN_TITLES[t]), 'B/HAProxy', 'target']];
  const notes: string[] = [];
  const verdictBy = new Map(verdicts(results).map((v) => [v.scenario, v]));
  const value = (c: Cell<Measured>, fmt: (m: Measured) => string) =>
    c.ok ? fmt(c.value) : quiet(c.reason) ? '-' : 'n/a';
  for (const r of results) {
    const b = headline(r.cells.ballast);
    const h = headline(r.cells.haproxy);
    const v = verdictBy.get(r.scenario);
    const isHttp = r.scenario !== 'tcp-bulk';
    rows.push([
      scenarioTitle(r.scenario, connections, streams),
      isHttp ? 'req/s' : 'MB/s',
      ...columns.map((t) => value(r.cells[t], withSpread)),
      b !== null && h !== null && h > 0 ? `${(b / h).toFixed(2)}x` : '-',
      v ? `>=${v.target}x ${v.pass === null ? 'n/a' : v.pass ? 'PASS' : 'BELOW'}` : '',
    ]);
    if (isHttp) {
      const lat = (m: Measured) => (isWrk(m.median) ? `${ms(m.median.p50Us)} / ${ms(m.median.p99Us)}` : '');
      rows.push(['', 'p50 / p99 ms', ...columns.map((t) => value(r.cells[t], lat)), '', '']);
    }
    const cb = r.cells.ballast.ok ? cpuPerUnit(r.cells.ballast.value.median) : null;
    const ch = r.cells.haproxy.ok ? cpuPerUnit(r.cells.haproxy.value.median) : null;
    rows.push([
      '',
      isHttp ? 'CPU us/req (cores)' : 'CPU s/GB (cores)',
      ...columns.map((t) => value(r.cells[t], (m) => formatCpu(m.median))),
      cb && ch && ch.perUnit > 0 ? `${(cb.perUnit / ch.perUnit).toFixed(1)}x` : '',
      '',
    ]);
    for (const t of columns) notes.push(...notesFor(t, r));
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length))) ?? [];
  const lines = rows.map((row) => pad(row, widths));
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  if (notes.length) lines.push('', 'notes:', ...notes.map((n) => `  ${n}`));
  return lines.join('\n');
}
