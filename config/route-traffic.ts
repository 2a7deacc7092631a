// Routes and pools beyond the basics: weighted splits with pinning, response caching, and
// cookie stickiness, from schema-valid input into the data-plane specs (defaults, cross-field checks).
import type { PoolSpec, RouteCacheSpec, RouteSpec } from '../lb/types.js';
import { formatDuration, parseDuration } from './duration.js';
import { ConfigError } from './errors.js';
import { applyRouteRetry, routeRetryInput } from './route-retry.js';
import type { PoolInput, RouteCacheInput, RouteInput } from './schema.js';

export const CACHE_DEFAULTS = {
  maxBytes: 64 * 1024 * 1024,
  maxObjectBytes: 1024 * 1024,
  defaultTtl: '0s',
} as const;

function invalid(field: string, reason: string): ConfigError {
  return new ConfigError('CONFIG_ERR_INVALID', field, reason);
}

export function normalizeRouteCache(input: RouteCacheInput, field: string): RouteCacheSpec {
  const spec: RouteCacheSpec = {
    maxBytes: input.maxBytes ?? CACHE_DEFAULTS.maxBytes,
    maxObjectBytes: input.maxObjectBytes ?? CACHE_DEFAULTS.maxObjectBytes,
    defaultTtlMs: parseDuration(input.defaultTtl ?? CACHE_DEFAULTS.defaultTtl),
    allowAuthorization: input.allowAuthorization ?? false,
    allowCookies: input.allowCookies ?? false,
  };
  if (spec.maxObjectBytes > spec.maxBytes) throw invalid(`${field}.maxObjectBytes`, `must not exceed maxBytes (${spec.maxBytes})`);
  return spec;
}

/** One route of an http listener: `pool`, or a `split` between pools (then `pool` is the split's first). */
export function normalizeRoute(input: RouteInput, field: string): RouteSpec {
  const base = input.host ? { host: input.host.toLowerCase(), pathPrefix: input.pathPrefix } : { pathPrefix: input.pathPrefix };
  const split = input.split;
  let pool: string;
  if (split === undefined) {
    if (input.pool === undefined) throw invalid(`${field}.pool`, 'is required (or give split: [{ pool, weight }, ...])');
    if (input.pin !== undefined) throw invalid(`${field}.pin`, 'pins a client to a pool of a split; this route has no split');
    pool = input.pool;
  } else {
    if (input.pool !== undefined) throw invalid(`${field}.pool`, 'use either pool or split, not both');
    const seen = new Set<string>();
    split.forEach((t, i) => {
      if (seen.has(t.pool)) throw invalid(`${field}.split[${i}].pool`, `pool "${t.pool}" appears twice in the split`);
      seen.add(t.pool);
    });
    if (!split.some((t) => t.weight > 0)) throw invalid(`${field}.split`, 'at least one pool needs a weight above 0');
    pool = split[0]!.pool;
  }
  const spec: RouteSpec = { ...base, pool };
  if (input.name !== undefined) spec.name = input.name;
  if (split !== undefined) spec.split = split.map((t) => ({ pool: t.pool, weight: t.weight }));
  if (input.pin !== undefined) {
    spec.pin = {};
    if (input.pin.cookie !== undefined) spec.pin.cookie = input.pin.cookie;
    if (input.pin.header !== undefined) spec.pin.header = input.pin.header.toLowerCase();
  }
  if (input.cache !== undefined) spec.cache = normalizeRouteCache(input.cache, `${field}.cache`);
  applyRouteRetry(input, spec, field);
  return spec;
}

/** Every pool a route may send to. */
export function routePools(route: RouteSpec): string[] {
  return route.split === undefined ? [route.pool] : route.split.map((t) => t.pool);
}

/** Stickiness fields of a pool, applied onto its spec. */
export function applyStickiness(spec: PoolSpec, input: PoolInput, field: string): void {
  if (input.stickyCookie !== undefined && input.stickiness !== 'cookie') {
    throw invalid(`${field}.stickyCookie`, 'names the cookie of stickiness: cookie; set stickiness: cookie too');
  }
  if (input.stickiness === 'cookie') {
    spec.stickiness = 'cookie';
    if (input.stickyCookie !== undefined) spec.stickyCookie = input.stickyCookie;
  }
}

/** Route fields read back in input form (so a GET body can be PUT back). */
export function routeInput(r: RouteSpec): RouteInput {
  const out: RouteInput = { pathPrefix: r.pathPrefix };
  if (r.host !== undefined) out.host = r.host;
  if (r.name !== undefined) out.name = r.name;
  if (r.split !== undefined) out.split = r.split.map((t) => ({ ...t }));
  else out.pool = r.pool;
  if (r.pin !== undefined) out.pin = { ...r.pin };
  if (r.cache !== undefined) {
    out.cache = {
      maxBytes: r.cache.maxBytes,
      maxObjectBytes: r.cache.maxObjectBytes,
      defaultTtl: formatDuration(r.cache.defaultTtlMs),
      allowAuthorization: r.cache.allowAuthorization,
      allowCookies: r.cache.allowCookies,
    };
  }
  return { ...out, ...routeRetryInput(r) };
}
