// CacheDirectory: every cached route's store in one worker, keyed by listener and route id, kept
// across listener updates and replacements, and the purges of the replicated state applied once each.
import type { Logger } from 'pino';
import type { CachePurge, DataPlaneState, RouteSpec } from '../types.js';
import type { CacheMetrics } from './metrics.js';
import { CacheStore } from './store.js';

/** A route's id for purges and metrics: its name, or host + path prefix. */
export function routeId(route: RouteSpec): string {
  return route.name ?? `${route.host ?? ''}${route.pathPrefix}`;
}

function storeKey(listener: string, route: string): string {
  return `${listener}\u0000${route}`;
}

export class CacheDirectory {
  private readonly stores = new Map<string, { listener: string; route: string; store: CacheStore }>();
  /** Highest purge seq applied; -1 until the first state (a new worker has nothing to purge). */
  private purgeSeq = -1;

  constructor(
    private readonly metrics: CacheMetrics,
    private readonly logger: Logger,
  ) {}

  /** The store of a cached route, created or resized to the spec. */
  store(listener: string, route: RouteSpec): CacheStore | undefined {
    if (route.cache === undefined) return undefined;
    const id = routeId(route);
    const key = storeKey(listener, id);
    const found = this.stores.get(key);
    if (found !== undefined) {
      found.store.resize(route.cache.maxBytes);
      return found.store;
    }
    const labels = { listener, route: id };
    const store = new CacheStore(route.cache.maxBytes, {
      evicted: (n) => this.metrics.evictionsTotal.inc(labels, n),
      resized: (bytes, entries) => {
        this.metrics.bytes.set(labels, bytes);
        this.metrics.entries.set(labels, entries);
      },
    });
    this.stores.set(key, { listener, route: id, store });
    return store;
  }

  metricsFor(): CacheMetrics {
    return this.metrics;
  }

  /** Drop the stores of routes no longer cached, then apply the state's new purges. */
  apply(state: DataPlaneState): void {
    const wanted = new Set<string>();
    for (const l of state.listeners) {
      if (l.mode !== 'http') continue;
      for (const r of l.routes) if (r.cache !== undefined) wanted.add(storeKey(l.name, routeId(r)));
    }
    for (const [key, s] of this.stores) {
      if (wanted.has(key)) continue;
      s.store.purge(undefined);
      this.stores.delete(key);
      this.metrics.bytes.remove({ listener: s.listener, route: s.route });
      this.metrics.entries.remove({ listener: s.listener, route: s.route });
    }
    this.applyPurges(state.cachePurges ?? []);
  }

  private applyPurges(purges: readonly CachePurge[]): void {
    const last = purges.reduce((m, p) => Math.max(m, p.seq), 0);
    if (this.purgeSeq < 0) {
      // A fresh worker: its stores are empty, so earlier purges have nothing to remove.
      this.purgeSeq = last;
      return;
    }
    const fresh = purges.filter((p) => p.seq > this.purgeSeq).sort((a, b) => a.seq - b.seq);
    if (fresh.length === 0) return;
    // The state keeps only recent purges: if some were dropped before we saw them, purge all.
    if ((fresh[0]?.seq ?? 0) > this.purgeSeq + 1) {
      this.logger.warn({ from: this.purgeSeq, to: last }, 'missed cache purges; purging every cached route');
      for (const s of this.stores.values()) this.count(s, s.store.purge(undefined));
    } else {
      for (const p of fresh) this.applyOne(p);
    }
    this.purgeSeq = last;
  }

  private applyOne(p: CachePurge): void {
    for (const s of this.stores.values()) {
      if (p.listener !== undefined && p.listener !== s.listener) continue;
      if (p.route !== undefined && p.route !== s.route) continue;
      this.count(s, s.store.purge(p.prefix));
    }
  }

  private count(s: { listener: string; route: string }, n: number): void {
    if (n > 0) this.metrics.purgedTotal.inc({ listener: s.listener, route: s.route }, n);
  }
}
