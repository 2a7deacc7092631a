// Access log line formats: JSON (one object per line) and Apache/nginx combined with Ballast's fields appended.
import type { AccessRecord } from './types.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** [10/Oct/2000:13:55:36 +0000] in UTC, as combined log readers expect. */
export function clfTime(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()] ?? ''}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

/** Quoted CLF field: quotes and backslashes escaped, control bytes as \xHH, "-" when empty. */
function quoted(v: string | undefined): string {
  if (v === undefined || v === '') return '"-"';
  let out = '';
  for (const c of v) {
    const code = c.charCodeAt(0);
    if (c === '"' || c === '\\') out += `\\${c}`;
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += c;
  }
  return `"${out}"`;
}

function ms(v: number | null): string {
  return v === null ? '-' : v.toFixed(1);
}

function bare(v: string): string {
  return v === '' ? '-' : v.replace(/\s/g, '_');
}

export function formatCombined(r: AccessRecord): string {
  const request = r.kind === 'http' ? `${r.method ?? '-'} ${r.url ?? '-'} ${r.protocol ?? 'HTTP/1.1'}` : `TCP ${r.listener}`;
  const status = r.kind === 'http' ? String(r.status) : bare(r.outcome);
  return (
    `${r.client || '-'} - - [${clfTime(r.time)}] ${quoted(request)} ${status} ${r.bytesOut} ${quoted(r.referer)} ${quoted(r.userAgent)}` +
    ` listener=${bare(r.listener)} route=${bare(r.route)} pool=${bare(r.pool)} backend=${bare(r.backend)}` +
    ` in=${r.bytesIn} connect_ms=${ms(r.connectMs)} ttfb_ms=${ms(r.ttfbMs)} total_ms=${ms(r.totalMs)}` +
    (r.rule === undefined ? '' : ` rule=${bare(r.rule)}`)
  );
}

function round(v: number | null): number | null {
  return v === null ? null : Math.round(v * 10) / 10;
}

export function formatJson(r: AccessRecord): string {
  return JSON.stringify({ ...r, time: new Date(r.time).toISOString(), connectMs: round(r.connectMs), ttfbMs: round(r.ttfbMs), totalMs: round(r.totalMs) });
}
