// Types shared by the HTTP engine's modules (listener, router, exchange, tunnel, upstream pools).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Logger } from 'pino';
import type { EdgeRuntime } from '../edge/edge-runtime.js';
import type { DataPlaneMetrics } from '../metrics.js';
import type { CertificateExpiry } from '../tls/certificate-expiry.js';
import type { TlsMaterial } from '../tls/tls-material.js';
import type { PoolDirectory } from '../types.js';
import type { CacheDirectory } from '../cache/directory.js';

export interface HttpListenerDeps {
  pools: PoolDirectory;
  metrics: DataPlaneMetrics;
  logger: Logger;
  /** The worker's TLS material and expiry metric; TLS listeners need both. */
  tls?: { material: TlsMaterial; expiry: CertificateExpiry };
  /** Edge protection shared across the worker's listeners; absent = a private in-process one. */
  edge?: EdgeRuntime;
  /** The worker's response cache stores; absent = routes with `cache` are served uncached. */
  caches?: CacheDirectory;
}

/** A client request as either front delivers it: HTTP/1.1 (node:http) or HTTP/2 (compat API). */
export type ClientRequest = IncomingMessage | Http2ServerRequest;
export type ClientResponse = ServerResponse | Http2ServerResponse;

/** Failures the balancer decides itself; the values are the `kind` label of proxyErrorsTotal. */
export type ProxyErrorKind =
  | 'no_route'
  | 'no_backend'
  | 'connect_failed'
  | 'connect_timeout'
  | 'response_timeout'
  | 'backend_reset'
  | 'limit'
  /** A TLS client that failed its handshake (no shared version or cipher, timeout, garbage). */
  | 'tls_handshake';

/** Flat header list as node's rawHeaders and undici both accept it: name, value, name, value... */
export type FlatHeaders = string[];

/** What the exchange and the tunnel need to know about the live spec, read at request time. */
export interface HttpTimeouts {
  connectMs: number;
  responseHeaderMs: number;
  idleMs: number;
}
