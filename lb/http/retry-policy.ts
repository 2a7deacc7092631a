// The retry policy and timeouts one request runs under: its route's overrides over the listener's.
import type { ListenerSpec, RetryCondition, RouteSpec } from '../types.js';
import type { HttpTimeouts } from './types.js';

/** RFC 9110 9.2.2: repeating these has the same effect as sending them once. */
export const IDEMPOTENT_METHODS = ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE'] as const;

export interface RetryPolicy {
  /** Further attempts after the first. */
  attempts: number;
  on: ReadonlySet<RetryCondition>;
  /** Methods repeated after the request may have reached a backend. */
  methods: ReadonlySet<string>;
}

const IDEMPOTENT = new Set<string>(IDEMPOTENT_METHODS);
/** Without a route `retry`: today's listener behaviour (other backend on connect failure or a reset before any response). */
const LISTENER_ON = new Set<RetryCondition>(['connect-failure', 'reset']);

export function retryPolicy(listener: ListenerSpec, route: RouteSpec | undefined): RetryPolicy {
  const r = route?.retry;
  if (r === undefined) return { attempts: listener.retries, on: LISTENER_ON, methods: IDEMPOTENT };
  return { attempts: r.attempts, on: new Set(r.on), methods: new Set(r.methods) };
}

export function routeTimeouts(listener: ListenerSpec, route: RouteSpec | undefined): HttpTimeouts {
  const t = listener.timeouts;
  const o = route?.timeouts;
  return {
    connectMs: t.connectMs,
    responseHeaderMs: o?.responseHeaderMs ?? t.responseHeaderMs,
    idleMs: o?.idleMs ?? t.idleMs,
  };
}
