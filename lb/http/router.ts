// Route table of one HTTP listener: Host (exact, then wildcard, then any) and longest path prefix.
import type { RouteSpec } from '../types.js';

interface WildcardTier {
  /** ".example.com" for "*.example.com". */
  suffix: string;
  routes: RouteSpec[];
}

/** Lowercase, drop the port (also of "[v6]:port") and a trailing dot: "Example.COM.:80" -> "example.com". */
export function normalizeHost(raw: string | undefined): string {
  if (raw === undefined) return '';
  let host = raw.trim().toLowerCase();
  if (host.startsWith('[')) {
    const close = host.indexOf(']');
    host = close === -1 ? host : host.slice(0, close + 1);
  } else {
    const colon = host.indexOf(':');
    if (colon !== -1) host = host.slice(0, colon);
  }
  return host.endsWith('.') ? host.slice(0, -1) : host;
}

/**
 * The origin-form of a request target: absolute-form ("http://h/p?q") becomes "/p?q", so the
 * backend sees the same path the route was chosen on; "*" and origin-form pass unchanged.
 */
export function originForm(target: string): string {
  if (target.startsWith('/')) return target;
  const scheme = target.indexOf('://');
  if (scheme === -1) return target;
  const rest = target.slice(scheme + 3);
  const cut = rest.search(/[/?#]/);
  if (cut === -1) return '/';
  const tail = rest.slice(cut);
  return tail.startsWith('/') ? tail : `/${tail}`;
}

/** The path routes match on: origin-form without the query. */
export function requestPath(target: string): string {
  const path = originForm(target);
  const cut = path.search(/[?#]/);
  return cut === -1 ? path : path.slice(0, cut);
}

function byLongestPrefix(a: RouteSpec, b: RouteSpec): number {
  return b.pathPrefix.length - a.pathPrefix.length;
}

function longestPrefix(routes: readonly RouteSpec[], path: string): RouteSpec | undefined {
  // Sorted longest first, so the first hit is the longest matching prefix.
  return routes.find((r) => path.startsWith(r.pathPrefix));
}

/**
 * Host-specific routes win over host-less ones: the first tier (exact host, then the most
 * specific wildcard, then any host) holding a matching prefix decides. Immutable; the
 * listener swaps in a new Router on update.
 */
export class Router {
  private readonly exact = new Map<string, RouteSpec[]>();
  private readonly wildcards: WildcardTier[] = [];
  private readonly anyHost: RouteSpec[] = [];

  constructor(routes: readonly RouteSpec[]) {
    const wild = new Map<string, RouteSpec[]>();
    for (const route of routes) {
      if (route.host === undefined || route.host === '' || route.host === '*') {
        this.anyHost.push(route);
        continue;
      }
      const host = normalizeHost(route.host);
      if (host.startsWith('*.')) {
        const suffix = host.slice(1);
        wild.set(suffix, [...(wild.get(suffix) ?? []), route]);
      } else {
        this.exact.set(host, [...(this.exact.get(host) ?? []), route]);
      }
    }
    for (const list of this.exact.values()) list.sort(byLongestPrefix);
    for (const [suffix, list] of wild) this.wildcards.push({ suffix, routes: list.sort(byLongestPrefix) });
    // "*.a.example.com" is more specific than "*.example.com".
    this.wildcards.sort((a, b) => b.suffix.length - a.suffix.length);
    this.anyHost.sort(byLongestPrefix);
  }

  /** `host` as normalizeHost returns it; `path` as requestPath returns it. */
  match(host: string, path: string): RouteSpec | undefined {
    const exact = this.exact.get(host);
    const hit = exact === undefined ? undefined : longestPrefix(exact, path);
    if (hit !== undefined) return hit;
    for (const tier of this.wildcards) {
      if (host.length > tier.suffix.length && host.endsWith(tier.suffix)) {
        const wildHit = longestPrefix(tier.routes, path);
        if (wildHit !== undefined) return wildHit;
      }
    }
    return longestPrefix(this.anyHost, path);
  }
}
