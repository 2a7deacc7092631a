// Turns schema-valid input (config file or API body) into the data-plane specs, applying defaults
// and the checks a schema cannot express (timeout < interval, unique names, mode-specific fields).
import type { BackendSpec, HealthCheckSpec, ListenerSpec, PoolSpec, StatusRange } from '../lb/types.js';
import { parseAddress } from './address.js';
import { parseDuration } from './duration.js';
import { normalizeListenerEdge } from './edge-normalize.js';
import { ConfigError } from './errors.js';
import { applyStickiness, normalizeRoute } from './route-traffic.js';
import { normalizeEdge } from './normalize-edge.js';
import type { BackendInput, HealthCheckInput, ListenerInput, PoolInput } from './schema.js';

export const LISTENER_DEFAULTS = {
  connect: '5s',
  clientHeader: '10s',
  responseHeader: '60s',
  idle: '60s',
  retries: 2,
  maxHeaderBytes: 16 * 1024,
} as const;

const HEALTH_DEFAULTS = { interval: '2s', timeout: '1s', rise: 2, fall: 3 } as const;

function invalid(field: string, reason: string): ConfigError {
  return new ConfigError('CONFIG_ERR_INVALID', field, reason);
}

export function parseStatusSet(text: string): StatusRange[] {
  return text.split(',').map((part) => {
    const [from, to = from] = part.split('-').map(Number) as [number, number?];
    return { from, to };
  });
}

export function formatStatusSet(ranges: readonly StatusRange[]): string {
  return ranges.map((r) => (r.from === r.to ? String(r.from) : `${r.from}-${r.to}`)).join(',');
}

export function normalizeHealthCheck(input: HealthCheckInput, field: string): HealthCheckSpec {
  const intervalMs = parseDuration(input.interval ?? HEALTH_DEFAULTS.interval);
  const timeoutMs = parseDuration(input.timeout ?? HEALTH_DEFAULTS.timeout);
  if (timeoutMs >= intervalMs) {
    throw invalid(`${field}.timeout`, `must be shorter than interval (${intervalMs}ms)`);
  }
  if (intervalMs < 100) throw invalid(`${field}.interval`, 'must be at least 100ms');
  const expectStatus = parseStatusSet(input.expectStatus ?? '200-399');
  for (const r of expectStatus) {
    if (r.from > r.to) throw invalid(`${field}.expectStatus`, `range ${r.from}-${r.to} is reversed`);
  }
  if (input.expectBody?.startsWith('/')) {
    const m = /^\/(.*)\/([a-z]*)$/s.exec(input.expectBody);
    try {
      if (!m) throw new Error('write a regular expression as /source/flags');
      new RegExp(m[1] ?? '', m[2]);
    } catch (err) {
      throw invalid(`${field}.expectBody`, `is not a valid regular expression: ${(err as Error).message}`);
    }
  }
  const spec: HealthCheckSpec = {
    type: input.type,
    intervalMs,
    timeoutMs,
    rise: input.rise ?? HEALTH_DEFAULTS.rise,
    fall: input.fall ?? HEALTH_DEFAULTS.fall,
    fastIntervalMs: input.fastInterval ? parseDuration(input.fastInterval) : intervalMs,
    downIntervalMs: input.downInterval ? parseDuration(input.downInterval) : intervalMs,
    method: input.method ?? 'GET',
    path: input.path ?? '/',
    expectStatus,
  };
  if (spec.fastIntervalMs <= timeoutMs) throw invalid(`${field}.fastInterval`, `must be longer than timeout (${timeoutMs}ms)`);
  if (spec.downIntervalMs <= timeoutMs) throw invalid(`${field}.downInterval`, `must be longer than timeout (${timeoutMs}ms)`);
  if (input.port !== undefined) spec.port = input.port;
  if (input.host !== undefined) spec.host = input.host;
  if (input.expectBody !== undefined) spec.expectBody = input.expectBody;
  return spec;
}

export function normalizeBackend(input: BackendInput, field: string): BackendSpec {
  const addr = parseAddress(input.address);
  if (addr.port === 0) throw invalid(`${field}.address`, 'port must be 1..65535');
  if (addr.host === '0.0.0.0' || addr.host === '::') throw invalid(`${field}.address`, 'must name a reachable host, not a wildcard');
  const spec: BackendSpec = {
    name: input.name,
    host: addr.host,
    port: addr.port,
    weight: input.weight ?? 1,
    state: input.state ?? 'active',
    backup: input.backup ?? false,
    maxConns: input.maxConns ?? 0,
  };
  if (input.healthCheck) {
    spec.healthCheck = {};
    if (input.healthCheck.port !== undefined) spec.healthCheck.port = input.healthCheck.port;
    if (input.healthCheck.path !== undefined) spec.healthCheck.path = input.healthCheck.path;
  }
  return spec;
}

export function requireUnique(names: readonly string[], field: string, what: string): void {
  const seen = new Set<string>();
  names.forEach((name, i) => {
    if (seen.has(name)) throw invalid(`${field}[${i}].name`, `duplicate ${what} name "${name}"`);
    seen.add(name);
  });
}

export function normalizePool(input: PoolInput, field: string): PoolSpec {
  const backendsIn = input.backends ?? [];
  requireUnique(backendsIn.map((b) => b.name), `${field}.backends`, 'backend');
  const spec: PoolSpec = {
    name: input.name,
    scheduler: input.scheduler ?? 'round-robin',
    slowStartMs: input.slowStart ? parseDuration(input.slowStart) : 0,
    backends: backendsIn.map((b, i) => normalizeBackend(b, `${field}.backends[${i}]`)),
  };
  if (input.healthCheck) spec.healthCheck = normalizeHealthCheck(input.healthCheck, `${field}.healthCheck`);
  applyStickiness(spec, input, field);
  if (input.outlier) {
    spec.outlier = {
      consecutiveFailures: input.outlier.consecutiveFailures,
      ejectMs: parseDuration(input.outlier.ejectTime ?? '30s'),
    };
  }
  return spec;
}

export function normalizeListener(input: ListenerInput, field: string): ListenerSpec {
  const bind = parseAddress(input.bind);
  if (input.mode === 'tcp') {
    if (!input.pool && !input.sniRoutes?.length) throw invalid(`${field}.pool`, 'is required for a tcp listener');
    if (input.routes?.length) throw invalid(`${field}.routes`, 'only http listeners have routes; use pool');
  } else {
    if (input.pool) throw invalid(`${field}.pool`, 'http listeners route by routes[]; remove pool');
    if (!input.routes?.length) throw invalid(`${field}.routes`, 'an http listener needs at least one route');
  }
  const t = input.timeouts ?? {};
  const spec: ListenerSpec = {
    name: input.name,
    mode: input.mode,
    bind,
    routes: (input.routes ?? []).map((r, i) => normalizeRoute(r, `${field}.routes[${i}]`)),
    maxConns: input.maxConns ?? 0,
    retries: input.retries ?? LISTENER_DEFAULTS.retries,
    maxHeaderBytes: input.maxHeaderBytes ?? LISTENER_DEFAULTS.maxHeaderBytes,
    timeouts: {
      connectMs: parseDuration(t.connect ?? LISTENER_DEFAULTS.connect),
      clientHeaderMs: parseDuration(t.clientHeader ?? LISTENER_DEFAULTS.clientHeader),
      responseHeaderMs: parseDuration(t.responseHeader ?? LISTENER_DEFAULTS.responseHeader),
      idleMs: parseDuration(t.idle ?? LISTENER_DEFAULTS.idle),
    },
  };
  if (input.pool) spec.pool = input.pool;
  normalizeEdge(input, field, spec);
  normalizeListenerEdge(input, spec, field);
  return spec;
}

