// Cache metric families (per worker registry; the node sums workers): lookups by result, memory
// held, evictions, coalesced waits and purged entries.
import { Counter, Gauge, type Registry } from 'prom-client';

export interface CacheMetrics {
  /** Requests on cached routes by X-Cache result (hit, miss, expired, bypass). */
  requestsTotal: Counter<'listener' | 'route' | 'result'>;
  bytes: Gauge<'listener' | 'route'>;
  entries: Gauge<'listener' | 'route'>;
  evictionsTotal: Counter<'listener' | 'route'>;
  /** Misses that waited for another request's fill instead of going to the backend. */
  coalescedTotal: Counter<'listener' | 'route'>;
  purgedTotal: Counter<'listener' | 'route'>;
}

export function createCacheMetrics(registry: Registry): CacheMetrics {
  const registers = [registry];
  const labelNames = ['listener', 'route'] as const;
  return {
    requestsTotal: new Counter({
      name: 'ballast_cache_requests_total',
      help: 'Requests on cached routes by result (hit, miss, expired, bypass)',
      labelNames: ['listener', 'route', 'result'],
      registers,
    }),
    bytes: new Gauge({ name: 'ballast_cache_bytes', help: 'Bytes held by the response cache', labelNames, registers }),
    entries: new Gauge({ name: 'ballast_cache_entries', help: 'Responses held by the response cache', labelNames, registers }),
    evictionsTotal: new Counter({ name: 'ballast_cache_evictions_total', help: 'Cached responses evicted to stay under the memory bound', labelNames, registers }),
    coalescedTotal: new Counter({ name: 'ballast_cache_coalesced_total', help: 'Cache misses that waited for a fill in flight instead of reaching the backend', labelNames, registers }),
    purgedTotal: new Counter({ name: 'ballast_cache_purged_total', help: 'Cached responses removed by purges', labelNames, registers }),
  };
}
