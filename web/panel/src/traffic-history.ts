// Successive scrapes turned into rates: requests/s and p99 per pool, requests/s, error rate and
// in-flight work per backend, plus the time series the charts draw (a bounded window).
import { bucketQuantile, counterIncrease, type TrafficSnapshot } from './traffic-snapshot.js';

export interface BackendRates {
  requestsPerSec: number;
  /** Share of responses that were 5xx over the window, 0..1; null when there were none. */
  errorRate: number | null;
  active: number;
}

export interface TrafficRates {
  at: number;
  /** pool -> requests/s. */
  poolRps: Map<string, number>;
  /** pool -> p99 seconds; null when no request finished in the window. */
  poolP99: Map<string, number | null>;
  /** "pool/backend" -> rates. */
  backends: Map<string, BackendRates>;
}

export const backendKey = (pool: string, backend: string): string => `${pool}/${backend}`;

/** A fixed-capacity set of aligned series, as uPlot wants them: one time axis, one array per key. */
export class SeriesWindow {
  readonly times: number[] = [];
  readonly series = new Map<string, (number | null)[]>();

  constructor(private readonly capacity: number) {}

  push(atSec: number, values: Map<string, number | null>): void {
    this.times.push(atSec);
    for (const [key, value] of values) {
      if (!this.series.has(key)) this.series.set(key, new Array<number | null>(this.times.length - 1).fill(null));
      this.series.get(key)?.push(value);
    }
    for (const [key, values_] of this.series) {
      if (values_.length < this.times.length) values_.push(null);
      if (!values.has(key) && values_.every((v) => v === null)) this.series.delete(key);
    }
    if (this.times.length > this.capacity) {
      const drop = this.times.length - this.capacity;
      this.times.splice(0, drop);
      for (const [key, values_] of this.series) {
        values_.splice(0, drop);
        if (values_.every((v) => v === null)) this.series.delete(key);
      }
    }
  }

  keys(): string[] {
    return [...this.series.keys()].sort();
  }
}

export interface TrafficHistoryOptions {
  /** Rates and quantiles are taken over this much time (or the oldest scrape kept, if younger). */
  windowMs: number;
  /** Points kept per chart series. */
  points: number;
}

export class TrafficHistory {
  private readonly snapshots: TrafficSnapshot[] = [];
  readonly rps: SeriesWindow;
  readonly p99Ms: SeriesWindow;
  readonly active: SeriesWindow;
  latest: TrafficRates | null = null;

  constructor(private readonly opts: TrafficHistoryOptions) {
    this.rps = new SeriesWindow(opts.points);
    this.p99Ms = new SeriesWindow(opts.points);
    this.active = new SeriesWindow(opts.points);
  }

  /** Adds a scrape; returns the rates it yields (null for the very first scrape). */
  push(snapshot: TrafficSnapshot): TrafficRates | null {
    this.snapshots.push(snapshot);
    // Keep the newest scrape at least windowMs old as the base, and nothing older.
    while (this.snapshots.length > 2 && (this.snapshots[1]?.at ?? Infinity) <= snapshot.at - this.opts.windowMs) this.snapshots.shift();
    const base = this.snapshots[0];
    if (!base || base === snapshot) {
      this.recordActive(snapshot);
      return null;
    }
    const rates = ratesBetween(base, snapshot);
    this.latest = rates;
    const atSec = snapshot.at / 1000;
    this.rps.push(atSec, rates.poolRps);
    this.p99Ms.push(atSec, new Map([...rates.poolP99].map(([k, v]) => [k, v === null ? null : v * 1000])));
    this.recordActive(snapshot);
    return rates;
  }

  private recordActive(snapshot: TrafficSnapshot): void {
    const values = new Map<string, number | null>();
    for (const [pool, byBackend] of snapshot.backends) for (const [backend, c] of byBackend) values.set(backendKey(pool, backend), c.active);
    this.active.push(snapshot.at / 1000, values);
  }
}

export function ratesBetween(before: TrafficSnapshot, after: TrafficSnapshot): TrafficRates {
  const seconds = Math.max((after.at - before.at) / 1000, 0.001);
  const poolRps = new Map<string, number>();
  for (const [pool, total] of after.poolRequests) poolRps.set(pool, counterIncrease(before.poolRequests.get(pool), total) / seconds);
  const poolP99 = new Map<string, number | null>();
  for (const [pool, buckets] of after.poolBuckets) {
    const prior = before.poolBuckets.get(pool);
    const restarted = [...buckets].some(([le, n]) => n < (prior?.get(le) ?? 0));
    const delta = new Map<number, number>();
    for (const [le, n] of buckets) delta.set(le, restarted ? n : n - (prior?.get(le) ?? 0));
    poolP99.set(pool, bucketQuantile(0.99, delta));
  }
  const backends = new Map<string, BackendRates>();
  for (const [pool, byBackend] of after.backends) {
    for (const [backend, c] of byBackend) {
      const prior = before.backends.get(pool)?.get(backend);
      const requests = counterIncrease(prior?.requests, c.requests);
      const errors = counterIncrease(prior?.errors, c.errors);
      backends.set(backendKey(pool, backend), {
        requestsPerSec: requests / seconds,
        errorRate: requests > 0 ? Math.min(errors / requests, 1) : null,
        active: c.active,
      });
    }
  }
  return { at: after.at, poolRps, poolP99, backends };
}
