// The benchmark's table: one row per scenario metric, Ballast / HAProxy / direct, the
// Ballast/HAProxy ratio and the targets as PASS/BELOW (a report, not an assertion).
import type { BulkResult, Cell, ScenarioName, ScenarioResult, TargetName, WrkResult } from './types.js';

export const TARGETS: Partial<Record<ScenarioName, number>> = { 'http-keepalive': 0.5, 'tcp-bulk': 0.8 };

const COLUMNS: TargetName[] = ['ballast', 'haproxy', 'direct'];

/** The reason given for targets left out with --targets: a dash in the table, no note. */
export const NOT_SELECTED = 'not selected';

export function scenarioTitle(s: ScenarioName, connections: number, streams: number): string {
  switch (s) {
    case 'http-keepalive':
      return `HTTP keep-alive, c=${connections}`;
    case 'http-close':
      return `HTTP conn-per-request, c=${connections}`;
    case 'tcp-bulk':
      return `TCP bulk, ${streams} stream${streams === 1 ? '' : 's'}`;
    default: {
      const never: never = s;
      throw new Error(`unknown scenario ${String(never)}`);
    }
  }
}

function isWrk(v: WrkResult | BulkResult): v is WrkResult {
  return 'requestsPerSec' in v;
}

/** The scenario's headline number: requests/s or MB/s. */
function headline(c: Cell<WrkResult | BulkResult>): number | null {
  if (!c.ok) return null;
  return isWrk(c.value) ? c.value.requestsPerSec : c.value.mbPerSec;
}

function ms(us: number): string {
  return us >= 100_000 ? (us / 1000).toFixed(0) : (us / 1000).toFixed(2);
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

export function formatTable(results: ScenarioResult[], connections: number, streams: number): string {
  const rows: string[][] = [['scenario', 'metric', 'Ballast', 'HAProxy', 'direct', 'B/HAProxy', 'target']];
  const notes: string[] = [];
  const verdictBy = new Map(verdicts(results).map((v) => [v.scenario, v]));
  for (const r of results) {
    const title = scenarioTitle(r.scenario, connections, streams);
    const b = headline(r.cells.ballast);
    const h = headline(r.cells.haproxy);
    const ratio = b !== null && h !== null && h > 0 ? `${(b / h).toFixed(2)}x` : '-';
    const v = verdictBy.get(r.scenario);
    const target = v ? `>=${v.target}x ${v.pass === null ? 'n/a' : v.pass ? 'PASS' : 'BELOW'}` : '';
    const isHttp = r.scenario !== 'tcp-bulk';
    const value = (c: Cell<WrkResult | BulkResult>, fmt: (x: WrkResult | BulkResult) => string) =>
      c.ok ? fmt(c.value) : c.reason === NOT_SELECTED ? '-' : 'n/a';
    rows.push([
      title,
      isHttp ? 'req/s' : 'MB/s',
      ...COLUMNS.map((t) => value(r.cells[t], (x) => (isWrk(x) ? x.requestsPerSec.toFixed(0) : x.mbPerSec.toFixed(0)))),
      ratio,
      target,
    ]);
    if (isHttp) {
      rows.push([
        '',
        'p50 / p99 ms',
        ...COLUMNS.map((t) => value(r.cells[t], (x) => (isWrk(x) ? `${ms(x.p50Us)} / ${ms(x.p99Us)}` : ''))),
        '',
        '',
      ]);
    }
    for (const t of COLUMNS) {
      const c = r.cells[t];
      if (!c.ok) {
        if (c.reason !== NOT_SELECTED) notes.push(`${t} ${r.scenario}: ${c.reason}`);
        continue;
      }
      if (isWrk(c.value)) {
        const e = c.value.socketErrors;
        const errs = e.connect + e.read + e.write + e.timeout;
        if (errs > 0 || c.value.non2xx3xx > 0) {
          notes.push(
            `${t} ${r.scenario}: ${c.value.non2xx3xx} non-2xx/3xx of ${c.value.requests}; socket errors connect ${e.connect}, read ${e.read}, write ${e.write}, timeout ${e.timeout}`,
          );
        }
      }
    }
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length))) ?? [];
  const lines = rows.map((row) => pad(row, widths));
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  if (notes.length) lines.push('', 'notes:', ...notes.map((n) => `  ${n}`));
  return lines.join('\n');
}
