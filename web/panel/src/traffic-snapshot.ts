// One /metrics scrape reduced to what the panel charts: request and error counters, latency
// buckets per pool, in-flight work per backend. Counters are summed over workers' other labels.
import type { Sample } from './prom-text.js';

export interface BackendCounters {
  requests: number;
  /** 5xx responses sent for requests this backend handled. */
  errors: number;
  active: number;
}

export interface TrafficSnapshot {
  /** Epoch ms when the scrape returned. */
  at: number;
  /** pool -> responses sent (any status, balancer errors included). */
  poolRequests: Map<string, number>;
  /** pool -> upper bound (seconds, Infinity last) -> cumulative count. */
  poolBuckets: Map<string, Map<number, number>>;
  /** pool -> backend -> counters. */
  backends: Map<string, Map<string, BackendCounters>>;
}

function backendEntry(snapshot: TrafficSnapshot, pool: string, backend: string): BackendCounters {
  let byBackend = snapshot.backends.get(pool);
  if (!byBackend) snapshot.backends.set(pool, (byBackend = new Map<string, BackendCounters>()));
  let entry = byBackend.get(backend);
  if (!entry) byBackend.set(backend, (entry = { requests: 0, errors: 0, active: 0 }));
  return entry;
}

function add(map: Map<string, number>, key: string, value: number): void {
  map.set(key, (map.get(key) ?? 0) + value);
}

export function snapshotFromSamples(samples: Sample[], at: number): TrafficSnapshot {
  const snapshot: TrafficSnapshot = { at, poolRequests: new Map(), poolBuckets: new Map(), backends: new Map() };
  for (const s of samples) {
    const pool = s.labels['pool'];
    if (pool === undefined || pool === '') continue;
    const backend = s.labels['backend'] ?? '';
    switch (s.name) {
      case 'ballast_http_requests_total': {
        add(snapshot.poolRequests, pool, s.value);
        if (backend === '') break;
        const entry = backendEntry(snapshot, pool, backend);
        entry.requests += s.value;
        if ((s.labels['code'] ?? '').startsWith('5')) entry.errors += s.value;
        break;
      }
      case 'ballast_backend_active_connections':
        backendEntry(snapshot, pool, backend).active += s.value;
        break;
      case 'ballast_http_request_duration_seconds_bucket': {
        const le = Number(s.labels['le'] === '+Inf' ? Infinity : s.labels['le']);
        if (Number.isNaN(le)) break;
        let buckets = snapshot.poolBuckets.get(pool);
        if (!buckets) snapshot.poolBuckets.set(pool, (buckets = new Map<number, number>()));
        buckets.set(le, (buckets.get(le) ?? 0) + s.value);
        break;
      }
      default:
        break;
    }
  }
  return snapshot;
}

/** Increase of a counter between two scrapes; a drop means the counter restarted (a worker restart). */
export function counterIncrease(before: number | undefined, after: number): number {
  if (before === undefined || after < before) return after;
  return after - before;
}

/**
 * The q-quantile (0..1) of observations that fell into cumulative buckets, interpolated linearly
 * inside the bucket as Prometheus' histogram_quantile does. Null when nothing was observed.
 */
export function bucketQuantile(q: number, cumulative: Map<number, number>): number | null {
  const bounds = [...cumulative.keys()].sort((a, b) => a - b);
  const total = cumulative.get(Infinity) ?? (bounds.length ? (cumulative.get(bounds[bounds.length - 1] ?? 0) ?? 0) : 0);
  if (total <= 0) return null;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const upper of bounds) {
    const count = cumulative.get(upper) ?? 0;
    if (count >= rank) {
      // Past the largest finite bound the histogram knows nothing more precise than that bound.
      if (upper === Infinity) return lower;
      const inBucket = count - below;
      return inBucket <= 0 ? upper : lower + ((upper - lower) * (rank - below)) / inBucket;
    }
    lower = upper;
    below = count;
  }
  return lower;
}
