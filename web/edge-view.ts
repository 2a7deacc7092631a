// Edge settings of listeners and routes read back in the API's input form (rates as "10/s").
import { formatRate } from '../config/edge-normalize.js';
import type { AccessInput, FilterInput, RateLimitInput } from '../config/protection-schema.js';
import type { ListenerInput, RouteInput } from '../config/schema.js';
import type { AccessRuleSpec, ListenerSpec, RateLimitSpec, RequestFilterSpec, RouteSpec } from '../lb/types.js';

type RouteEdgeView = Pick<RouteInput, 'access' | 'rateLimits' | 'filter'>;
type ListenerEdgeView = Pick<ListenerInput, 'access' | 'rateLimits' | 'filter' | 'accessLog' | 'acceptProxy' | 'proxyFrom' | 'sendProxy' | 'maxConnsPerIp'>;

function accessView(a: AccessRuleSpec): AccessInput {
  return { allow: [...a.allow], deny: [...a.deny] };
}

function limitView(l: RateLimitSpec): RateLimitInput {
  const out: RateLimitInput = { key: l.key, rate: formatRate(l.ratePerSec), burst: l.burst, scope: l.scope };
  if (l.header !== undefined) out.header = l.header;
  return out;
}

function filterView(f: RequestFilterSpec): FilterInput {
  return { mode: f.mode, disable: [...f.disabled], json: f.json, maxJsonBytes: f.maxJsonBytes };
}

export function routeProtectionView(r: Pick<RouteSpec, 'access' | 'rateLimits' | 'filter'>): RouteEdgeView {
  const out: RouteEdgeView = {};
  if (r.access !== undefined) out.access = accessView(r.access);
  if (r.rateLimits !== undefined) out.rateLimits = r.rateLimits.map(limitView);
  if (r.filter !== undefined) out.filter = filterView(r.filter);
  return out;
}

export function listenerProtectionView(l: ListenerSpec): ListenerEdgeView {
  const out: ListenerEdgeView = routeProtectionView(l);
  if (l.accessLog !== undefined) out.accessLog = { ...l.accessLog };
  if (l.acceptProxy !== undefined) out.acceptProxy = l.acceptProxy;
  if (l.proxyFrom !== undefined) out.proxyFrom = [...l.proxyFrom];
  if (l.sendProxy !== undefined) out.sendProxy = l.sendProxy;
  if (l.maxConnsPerIp !== undefined) out.maxConnsPerIp = l.maxConnsPerIp;
  return out;
}
