// What a listener keeps per route beyond the route table: the split chooser of a weighted route
// and the cache front of a cached one. Rebuilt with the routes on every update; cache stores
// live in the worker's CacheDirectory, so they survive updates.
import { CacheFront } from '../cache/cache-front.js';
import { routeId, type CacheDirectory } from '../cache/directory.js';
import type { CompressionSpec, RouteSpec } from '../types.js';
import type { ResponsePolicy } from './header-policy.js';
import { SplitChooser } from './split-chooser.js';

export class RouteExtras {
  private readonly splits = new Map<RouteSpec, SplitChooser>();
  private readonly caches = new Map<RouteSpec, CacheFront>();

  constructor(
    listener: string,
    routes: readonly RouteSpec[],
    deps: { caches: CacheDirectory | undefined; policy: ResponsePolicy | undefined; compression?: CompressionSpec | undefined; now: () => number },
  ) {
    for (const route of routes) {
      if (route.split !== undefined) this.splits.set(route, new SplitChooser(route.split, route.pin));
      const store = deps.caches?.store(listener, route);
      if (store !== undefined && route.cache !== undefined && deps.caches !== undefined) {
        this.caches.set(
          route,
          new CacheFront({
            listener,
            route: routeId(route),
            spec: route.cache,
            store,
            metrics: deps.caches.metricsFor(),
            policy: deps.policy,
            compression: deps.compression,
            now: deps.now,
          }),
        );
      }
    }
  }

  split(route: RouteSpec): SplitChooser | undefined {
    return this.splits.get(route);
  }

  cache(route: RouteSpec): CacheFront | undefined {
    return this.caches.get(route);
  }
}
