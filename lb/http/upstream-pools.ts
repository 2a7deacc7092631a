// Keep-alive connection pools to backends, one undici Pool per backend address.
//
// Why undici and not node:http's Agent: measured on this 2-core box through a minimal
// proxy each (node:http server in front, 32 keep-alive client connections, 1 KiB responses):
// undici.Pool#dispatch cost 102-126 us of proxy CPU per request against 182-196 us for
// http.Agent + pipe (3 runs each, counted with process.cpuUsage so a busy box does not skew
// it), and on a quiet box served 9.9k-16.1k req/s against 7.9k-9.1k. 50 MB streams ran at
// the same speed either way (~250-360 MB/s). dispatch() also gives what a proxy needs:
// onRequestStart tells "never reached the backend" (connect failed, safe to retry whatever
// the method) apart from "bytes sent", bodyTimeout is per request, pause()/resume() carry
// backpressure, raw header order and case survive, and a stream body is read only once a
// socket is ready, so a request whose connect failed can be re-dispatched with the
// untouched body. Connect and response-header deadlines are ours (the connector below,
// exchange.ts): undici runs its own on timers of about 1 s resolution.
// Upgrades do not go through either: the tunnel (tunnel.ts) speaks raw TCP.
// With backendTls the same connector dials TLS (node:tls), and the deadline covers the handshake.
// With sendProxy, connections are not shared between client connections: see ProxiedUpstreams.
import { readFileSync } from 'node:fs';
import { connect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { Pool, type buildConnector } from 'undici';
import { LbError } from '../errors.js';
import type { BackendTlsSpec, HostPort } from '../types.js';
import type { ProxyBinding } from './proxy-binding.js';
import { ProxiedUpstreams } from './proxied-upstreams.js';

/** A pool unused this long is closed; backends come and go with the replicated state. */
const UNUSED_POOL_MS = 60_000;
const SWEEP_EVERY_MS = 15_000;
/** Backend response header blocks beyond this fail the request (502). */
const MAX_RESPONSE_HEADER_BYTES = 64 * 1024;

interface Entry {
  pool: Pool;
  lastUsed: number;
}

/** How the balancer speaks TLS to backends, resolved from a BackendTlsSpec (CA file read once). */
export interface BackendTls {
  ca: string | undefined;
  servername: string | undefined;
  verify: boolean;
  /** Offer h2 by ALPN; undici then multiplexes requests on it and relays trailers. */
  http2: boolean;
  /** Set when the spec cannot be used (CA file unreadable): every connect fails with it. */
  error: string | undefined;
}

export function resolveBackendTls(spec: BackendTlsSpec | undefined): BackendTls | undefined {
  if (spec === undefined || !spec.enabled) return undefined;
  let ca = spec.ca;
  let error: string | undefined;
  if (ca === undefined && spec.caFile !== undefined) {
    try {
      ca = readFileSync(spec.caFile, 'utf8');
    } catch (err) {
      error = `backendTls.caFile ${spec.caFile} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
    }
  }
  return { ca, servername: spec.servername, verify: spec.verify, http2: spec.http2 === true, error };
}

/**
 * A socket to the backend, plain or TLS; `ready` is the event that means it can carry a request.
 * A preamble (a PROXY header) goes out first on the TCP connection, before any TLS byte.
 */
export function dialBackendSocket(
  host: string,
  port: number,
  tls: BackendTls | undefined,
  preamble?: Buffer,
): { socket: Socket; ready: 'connect' | 'secureConnect' } {
  if (tls?.error !== undefined) throw new Error(tls.error);
  let raw: Socket | undefined;
  if (tls === undefined || preamble !== undefined) {
    raw = connect({ host, port, noDelay: true });
    // Queued until the connection is up, and ahead of everything written later.
    if (preamble !== undefined) raw.write(preamble);
    if (tls === undefined) return { socket: raw, ready: 'connect' };
  }
  const options: ConnectionOptions = { host, port, rejectUnauthorized: tls.verify, ALPNProtocols: tls.http2 ? ['h2', 'http/1.1'] : ['http/1.1'] };
  if (raw !== undefined) options.socket = raw;
  const servername = tls.servername ?? (isIP(host) === 0 ? host : undefined);
  // SNI carries names only (RFC 6066 3); an IP backend is verified against its IP SANs instead.
  if (servername !== undefined) options.servername = servername;
  if (tls.ca !== undefined) options.ca = tls.ca;
  const socket = tlsConnect(options);
  socket.setNoDelay(true);
  return { socket, ready: 'secureConnect' };
}

/**
 * TCP (or TLS) connector with a native connect deadline. undici's own connect timeout runs on
 * its coarse "fast timers" (about 1 s resolution); this one is exact, and reads the live value.
 */
export function connector(connectMs: () => number, tls: () => BackendTls | undefined, preamble?: () => Buffer): buildConnector.connector {
  return (opts, callback) => {
    let dialed: ReturnType<typeof dialBackendSocket>;
    try {
      dialed = dialBackendSocket(opts.hostname, Number(opts.port), tls(), preamble?.());
    } catch (err) {
      callback(err instanceof Error ? err : new Error(String(err)), null);
      return;
    }
    const { socket, ready } = dialed;
    socket.setKeepAlive(true, 60_000);
    const ms = connectMs();
    const timer = setTimeout(() => {
      socket.destroy(new LbError('LB_ERR_CONNECT_TIMEOUT', `connect timed out after ${ms} ms`));
    }, ms);
    let failed = false;
    // `on`, not `once`: a TLS socket over our own TCP socket (sendProxy) reports a refused connect twice.
    const onError = (err: Error): void => {
      clearTimeout(timer);
      if (failed) return;
      failed = true;
      callback(err, null);
    };
    socket.on('error', onError);
    socket.once(ready, () => {
      clearTimeout(timer);
      socket.off('error', onError);
      callback(null, socket);
    });
  };
}

export function origin(to: HostPort): string {
  const host = to.host.includes(':') ? `[${to.host}]` : to.host;
  return `http://${host}:${to.port}`;
}

export class UpstreamPools {
  private readonly entries = new Map<string, Entry>();
  /** Pools closed gracefully but maybe still finishing requests; destroy() must reach them. */
  private readonly retiring = new Set<Pool>();
  private readonly sweeper: NodeJS.Timeout;
  private connectMs: number;
  private idleMs: number;
  private tls: BackendTls | undefined;
  private tlsSpec = 'null';
  private readonly proxied = new ProxiedUpstreams(
    (to, preamble) => this.newPool(to, preamble),
    (pool) => this.retire(pool),
  );

  constructor(connectMs: number, idleMs: number) {
    this.connectMs = connectMs;
    this.idleMs = idleMs;
    this.sweeper = setInterval(() => this.sweep(), SWEEP_EVERY_MS);
    this.sweeper.unref();
  }

  /** The pool for a backend; with a binding (sendProxy), one that only this client connection uses. */
  get(to: HostPort, binding?: ProxyBinding): Pool {
    if (binding !== undefined) return this.proxied.get(to, binding);
    const key = `${to.host}:${to.port}`;
    let entry = this.entries.get(key);
    if (entry === undefined) {
      entry = { pool: this.newPool(to), lastUsed: 0 };
      this.entries.set(key, entry);
    }
    entry.lastUsed = Date.now();
    return entry.pool;
  }

  private newPool(to: HostPort, preamble?: () => Buffer): Pool {
    return new Pool(origin(to), {
      connections: null,
      pipelining: 1,
      connect: connector(
        () => this.connectMs,
        () => this.tls,
        preamble,
      ),
      keepAliveMaxTimeout: Math.max(1000, this.idleMs),
      maxHeaderSize: MAX_RESPONSE_HEADER_BYTES,
      allowH2: this.tls?.http2 === true,
    });
  }

  /**
   * The connector reads connectMs live. The idle cap is fixed per undici Pool, so an idleMs
   * change retires the current pools: in-flight requests finish, new ones get fresh pools.
   */
  setTimeouts(connectMs: number, idleMs: number): void {
    this.connectMs = connectMs;
    if (idleMs === this.idleMs) return;
    this.idleMs = idleMs;
    for (const entry of this.entries.values()) this.retire(entry.pool);
    this.entries.clear();
    this.proxied.retireAll();
  }

  /** A changed backend TLS setting retires the current pools: their connections were made under the old one. */
  setBackendTls(spec: BackendTlsSpec | undefined): void {
    const key = JSON.stringify(spec ?? null);
    if (key === this.tlsSpec) return;
    this.tlsSpec = key;
    this.tls = resolveBackendTls(spec);
    for (const entry of this.entries.values()) this.retire(entry.pool);
    this.entries.clear();
    this.proxied.retireAll();
  }

  backendTls(): BackendTls | undefined {
    return this.tls;
  }

  private retire(pool: Pool): void {
    this.retiring.add(pool);
    void pool
      .close()
      .catch(() => undefined)
      .finally(() => this.retiring.delete(pool));
  }

  private sweep(): void {
    const cutoff = Date.now() - UNUSED_POOL_MS;
    for (const [key, entry] of this.entries) {
      if (entry.lastUsed < cutoff) {
        this.entries.delete(key);
        this.retire(entry.pool);
      }
    }
  }

  /** Let in-flight requests finish, then close every upstream connection. */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    const pools = [...this.entries.values()].map((e) => e.pool).concat(this.proxied.takeAll(), [...this.retiring]);
    this.entries.clear();
    await Promise.all(pools.map((p) => p.close().catch(() => undefined)));
  }

  destroy(): void {
    clearInterval(this.sweeper);
    const pools = [...this.entries.values()].map((e) => e.pool).concat(this.proxied.takeAll(), [...this.retiring]);
    for (const pool of pools) void pool.destroy().catch(() => undefined);
    this.entries.clear();
    this.retiring.clear();
  }
}
