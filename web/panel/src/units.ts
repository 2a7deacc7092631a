// How quantities read in the panel: rates, latencies, shares, bytes, ages.

export function rate(v: number): string {
  if (v >= 1000) return `${(v / 1000).toFixed(1)}k`;
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

export function ms(v: number): string {
  if (v >= 1000) return `${(v / 1000).toFixed(2)} s`;
  if (v >= 10) return `${v.toFixed(0)} ms`;
  return `${v.toFixed(1)} ms`;
}

export function percent(share: number): string {
  const p = share * 100;
  return p === 0 ? '0%' : p < 0.1 ? '<0.1%' : `${p < 10 ? p.toFixed(1) : p.toFixed(0)}%`;
}

export function bytes(v: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 && i > 0 ? v.toFixed(1) : v.toFixed(0)} ${units[i] ?? 'B'}`;
}

export function ago(msAgo: number): string {
  if (msAgo < 1000) return `${Math.max(0, Math.round(msAgo))} ms ago`;
  const s = msAgo / 1000;
  if (s < 120) return `${s.toFixed(s < 10 ? 1 : 0)} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}
