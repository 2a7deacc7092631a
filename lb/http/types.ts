// Types shared by the HTTP engine's modules (listener, router, exchange, tunnel, upstream pools).
import type { Logger } from 'pino';
import type { DataPlaneMetrics } from '../metrics.js';
import type { PoolDirectory } from '../types.js';

export interface HttpListenerDeps {
  pools: PoolDirectory;
  metrics: DataPlaneMetrics;
  logger: Logger;
}

/** Failures the balancer decides itself; the values are the `kind` label of proxyErrorsTotal. */
export type ProxyErrorKind =
  | 'no_route'
  | 'no_backend'
  | 'connect_failed'
  | 'connect_timeout'
  | 'response_timeout'
  | 'backend_reset'
  | 'limit';

/** Flat header list as node's rawHeaders and undici both accept it: name, value, name, value... */
export type FlatHeaders = string[];

/** What the exchange and the tunnel need to know about the live spec, read at request time. */
export interface HttpTimeouts {
  connectMs: number;
  responseHeaderMs: number;
  idleMs: number;
}
