// Replicated specs read back in the API's input form (durations as "2s", addresses as "host:port"),
// with what is observed (health, live connections) beside them.
import { listenerEdgeView } from './listener-edge-view.js';
import { formatAddress } from '../config/address.js';
import { formatDuration } from '../config/duration.js';
import { formatStatusSet } from '../config/normalize.js';
import { routeInput } from '../config/route-traffic.js';
import type { HealthCheckInput } from '../config/schema.js';
import type { BackendSnapshot } from '../lb/pool-types.js';
import type { BackendHealth, BackendSpec, HealthCheckSpec, HealthTable, ListenerSpec, PoolSpec } from '../lb/types.js';
import { listenerProtectionView, routeProtectionView } from './edge-view.js';
import type { BackendViewT, ListenerViewT, PoolViewT } from './schemas.js';

const NOT_CHECKED: BackendHealth = { status: 'unknown', reason: 'not checked yet', since: 0 };

function healthCheckInput(h: HealthCheckSpec): HealthCheckInput {
  const out: HealthCheckInput = {
    type: h.type,
    interval: formatDuration(h.intervalMs),
    timeout: formatDuration(h.timeoutMs),
    rise: h.rise,
    fall: h.fall,
    fastInterval: formatDuration(h.fastIntervalMs),
    downInterval: formatDuration(h.downIntervalMs),
    method: h.method as NonNullable<HealthCheckInput['method']>,
    path: h.path,
    expectStatus: formatStatusSet(h.expectStatus),
  };
  if (h.port !== undefined) out.port = h.port;
  if (h.host !== undefined) out.host = h.host;
  if (h.expectBody !== undefined) out.expectBody = h.expectBody;
  return out;
}

/** What the workers report of one backend; null when they did not answer. */
export type BackendLive = Pick<BackendSnapshot, 'active' | 'eligible'> | null;

export function backendView(spec: BackendSpec, health: BackendHealth | undefined, live: BackendLive, poolChecked: boolean): BackendViewT {
  const h = health ?? NOT_CHECKED;
  const out: BackendViewT = {
    name: spec.name,
    address: formatAddress(spec),
    weight: spec.weight,
    state: spec.state,
    backup: spec.backup,
    maxConns: spec.maxConns,
    // Without a health check the data plane treats the backend as up; say why health stays unknown.
    health: poolChecked ? { ...h } : { status: 'unknown', reason: 'the pool has no health check; traffic treats it as up', since: h.since },
    active: live?.active ?? null,
    eligible: live?.eligible ?? null,
  };
  if (spec.healthCheck) out.healthCheck = { ...spec.healthCheck };
  return out;
}

/** `live` is null when the workers did not answer. */
export function poolView(spec: PoolSpec, health: HealthTable, live: Record<string, BackendSnapshot[]> | null): PoolViewT {
  const views = live?.[spec.name] ?? [];
  const out: PoolViewT = {
    name: spec.name,
    scheduler: spec.scheduler,
    slowStart: formatDuration(spec.slowStartMs),
    backends: spec.backends.map((b) => backendView(b, health[spec.name]?.[b.name], live && liveOf(views, b.name), spec.healthCheck !== undefined)),
  };
  if (spec.healthCheck) out.healthCheck = healthCheckInput(spec.healthCheck);
  if (spec.outlier) out.outlier = { consecutiveFailures: spec.outlier.consecutiveFailures, ejectTime: formatDuration(spec.outlier.ejectMs) };
  if (spec.stickiness !== undefined) out.stickiness = spec.stickiness;
  if (spec.stickyCookie !== undefined) out.stickyCookie = spec.stickyCookie;
  return out;
}

/** A backend the workers have not picked up yet has nothing in flight and is not eligible. */
export function liveOf(views: readonly BackendSnapshot[], backend: string): NonNullable<BackendLive> {
  const v = views.find((b) => b.name === backend && !b.removed);
  return v ? { active: v.active, eligible: v.eligible } : { active: 0, eligible: false };
}

export function listenerView(spec: ListenerSpec, port: number | undefined): ListenerViewT {
  const out: ListenerViewT = {
    name: spec.name,
    mode: spec.mode,
    bind: formatAddress(spec.bind),
    routes: spec.routes.map((r) => ({ ...routeInput(r), ...routeProtectionView(r) })),
    maxConns: spec.maxConns,
    retries: spec.retries,
    maxHeaderBytes: spec.maxHeaderBytes,
    timeouts: {
      connect: formatDuration(spec.timeouts.connectMs),
      clientHeader: formatDuration(spec.timeouts.clientHeaderMs),
      responseHeader: formatDuration(spec.timeouts.responseHeaderMs),
      idle: formatDuration(spec.timeouts.idleMs),
    },
    port: port ?? null,
    ...listenerProtectionView(spec),
  };
  if (spec.pool !== undefined) out.pool = spec.pool;
  return { ...out, ...listenerEdgeView(spec) };
}
