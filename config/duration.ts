// Durations as operators write them in config and API bodies: 500ms, 2s, 1m, 1h.

export const DURATION_PATTERN = '^[0-9]+(\\.[0-9]+)?(ms|s|m|h)$';
const DURATION_RE = new RegExp(DURATION_PATTERN);
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** Milliseconds for a duration string; throws RangeError naming the bad value. */
export function parseDuration(text: string): number {
  const m = DURATION_RE.exec(text);
  if (!m) throw new RangeError(`"${text}" is not a duration like 500ms, 2s or 1m`);
  const num = text.slice(0, text.length - (m[2] as string).length);
  return Math.round(Number(num) * UNIT_MS[m[2] as keyof typeof UNIT_MS]);
}

/** Shortest exact rendering, for reading config back: 1500 -> "1500ms", 2000 -> "2s". */
export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0 && ms > 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
