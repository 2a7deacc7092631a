// Applying `listener.edge`: a listener with its edge settings (and its routes') replaced, the rest kept.
import type { ListenerSpec, RouteSpec } from '../../lb/types.js';
import { StateError } from './errors.js';
import type { EdgeSettings } from './types.js';

const LISTENER_KEYS = ['access', 'rateLimits', 'filter', 'accessLog', 'acceptProxy', 'proxyFrom', 'sendProxy', 'maxConnsPerIp'] as const;
const ROUTE_KEYS = ['access', 'rateLimits', 'filter'] as const;

function sameRoute(a: Pick<RouteSpec, 'host' | 'pathPrefix'>, b: Pick<RouteSpec, 'host' | 'pathPrefix'>): boolean {
  return a.pathPrefix === b.pathPrefix && (a.host ?? '') === (b.host ?? '');
}

export function withEdge(spec: ListenerSpec, edge: EdgeSettings): ListenerSpec {
  edge.routes.forEach((r, i) => {
    if (!spec.routes.some((route) => sameRoute(route, r))) {
      throw new StateError('STATE_ERR_NOT_FOUND', `routes[${i}]`, `listener "${spec.name}" has no route ${r.host ?? ''}${r.pathPrefix}`);
    }
  });
  const next: ListenerSpec = structuredClone(spec);
  for (const key of LISTENER_KEYS) delete next[key];
  Object.assign(next, structuredClone(edge.listener));
  next.routes = next.routes.map((route) => {
    const plain: RouteSpec = { ...route };
    for (const key of ROUTE_KEYS) delete plain[key];
    const given = edge.routes.find((r) => sameRoute(r, route));
    if (given === undefined) return plain;
    const { host: _h, pathPrefix: _p, ...fields } = structuredClone(given);
    return { ...plain, ...fields };
  });
  return next;
}
