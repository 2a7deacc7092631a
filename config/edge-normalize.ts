// Edge settings from schema-valid input into the data-plane specs: defaults, rates as tokens per
// second, and the checks a schema cannot express (CIDR syntax, rule ids, mode-specific fields).
import { cidrProblem } from '../lb/edge/address-set.js';
import { JSON_RULES, URL_RULES } from '../lb/edge/request-filter.js';
import type { AccessLogSpec, AccessRuleSpec, ListenerSpec, RateLimitSpec, RequestFilterSpec, RouteSpec } from '../lb/types.js';
import type { AccessInput, AccessLogInput, FilterInput, RateLimitInput } from './protection-schema.js';
import { ConfigError } from './errors.js';
import type { ListenerInput, RouteInput } from './schema.js';

const KNOWN_RULES = new Set([...URL_RULES, ...JSON_RULES].map((r) => r.id));
export const FILTER_DEFAULTS = { maxJsonBytes: 1024 * 1024 } as const;

function invalid(field: string, reason: string): ConfigError {
  return new ConfigError('CONFIG_ERR_INVALID', field, reason);
}

function cidrs(list: readonly string[], field: string): string[] {
  list.forEach((c, i) => {
    const problem = cidrProblem(c);
    if (problem !== null) throw invalid(`${field}[${i}]`, problem);
  });
  return [...list];
}

function access(input: AccessInput, field: string): AccessRuleSpec {
  return { allow: cidrs(input.allow ?? [], `${field}.allow`), deny: cidrs(input.deny ?? [], `${field}.deny`) };
}

/** "10/s" -> 10, "600/m" -> 10, "36/h" -> 0.01. */
export function parseRate(text: string): number {
  const [n = '0', unit = 's'] = text.split('/');
  const per = unit === 'h' ? 3600 : unit === 'm' ? 60 : 1;
  return Number(n) / per;
}

/** Tokens per second back into the shortest exact "n/unit" form. */
export function formatRate(perSec: number): string {
  for (const [unit, mult] of [['s', 1], ['m', 60], ['h', 3600]] as const) {
    const n = perSec * mult;
    if (Math.abs(n - Math.round(n)) < 1e-9) return `${Math.round(n)}/${unit}`;
  }
  return `${+(perSec * 3600).toFixed(6)}/h`;
}

function rateLimit(input: RateLimitInput, field: string, mode: ListenerSpec['mode']): RateLimitSpec {
  const ratePerSec = parseRate(input.rate);
  if (ratePerSec <= 0) throw invalid(`${field}.rate`, 'must be more than 0');
  if (input.key === 'header' && input.header === undefined) throw invalid(`${field}.header`, 'is required when key is "header"');
  if (input.key !== 'header' && input.header !== undefined) throw invalid(`${field}.header`, 'is only used with key "header"');
  if (mode === 'tcp' && input.key === 'header') throw invalid(`${field}.key`, 'tcp listeners limit connections by "ip" or "route" (the whole listener)');
  const spec: RateLimitSpec = {
    key: input.key,
    ratePerSec,
    burst: input.burst ?? Math.max(1, Math.ceil(ratePerSec)),
    scope: input.scope ?? 'node',
  };
  if (input.header !== undefined) spec.header = input.header.toLowerCase();
  return spec;
}

function filter(input: FilterInput, field: string): RequestFilterSpec {
  (input.disable ?? []).forEach((id, i) => {
    if (!KNOWN_RULES.has(id)) throw invalid(`${field}.disable[${i}]`, `unknown rule "${id}"; rules: ${[...KNOWN_RULES].join(', ')}`);
  });
  return {
    mode: input.mode ?? 'block',
    disabled: [...(input.disable ?? [])],
    json: input.json ?? false,
    maxJsonBytes: input.maxJsonBytes ?? FILTER_DEFAULTS.maxJsonBytes,
  };
}

function accessLog(input: AccessLogInput): AccessLogSpec {
  return { format: input.format ?? 'json', path: input.path ?? 'stdout', sample: input.sample ?? 1 };
}

function routeEdge(input: RouteInput, route: RouteSpec, field: string): void {
  if (input.access !== undefined) route.access = access(input.access, `${field}.access`);
  if (input.rateLimits !== undefined) route.rateLimits = input.rateLimits.map((l, i) => rateLimit(l, `${field}.rateLimits[${i}]`, 'http'));
  if (input.filter !== undefined) route.filter = filter(input.filter, `${field}.filter`);
}

/** Adds the edge fields of `input` to a normalized listener `spec` (and its routes, by index). */
export function normalizeListenerEdge(input: ListenerInput, spec: ListenerSpec, field: string): void {
  const tcp = input.mode === 'tcp';
  if (input.access !== undefined) spec.access = access(input.access, `${field}.access`);
  if (input.rateLimits !== undefined) spec.rateLimits = input.rateLimits.map((l, i) => rateLimit(l, `${field}.rateLimits[${i}]`, input.mode));
  if (input.filter !== undefined) {
    if (tcp) throw invalid(`${field}.filter`, 'the request filter is for http listeners');
    spec.filter = filter(input.filter, `${field}.filter`);
  }
  if (input.accessLog !== undefined) spec.accessLog = accessLog(input.accessLog);
  if (input.acceptProxy !== undefined) spec.acceptProxy = input.acceptProxy;
  if (input.proxyFrom !== undefined) {
    if (input.acceptProxy !== true) throw invalid(`${field}.proxyFrom`, 'only applies with acceptProxy: true');
    spec.proxyFrom = cidrs(input.proxyFrom, `${field}.proxyFrom`);
  }
  if (input.sendProxy !== undefined) spec.sendProxy = input.sendProxy;
  if (input.maxConnsPerIp !== undefined) {
    if (!tcp) throw invalid(`${field}.maxConnsPerIp`, 'only tcp listeners limit connections per client address');
    spec.maxConnsPerIp = input.maxConnsPerIp;
  }
  (input.routes ?? []).forEach((r, i) => {
    const route = spec.routes[i];
    if (route !== undefined) routeEdge(r, route, `${field}.routes[${i}]`);
  });
}
