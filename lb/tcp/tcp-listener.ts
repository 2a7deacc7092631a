// TcpListener: the L4 passthrough ListenerEngine. Accepts, admits (maxConns), dials a backend of
// the listener's pool with retries, and splices the two sockets until either side is done.
import { createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { compileAccessLog, type AccessLogger } from '../access-log/access-logger.js';
import { createEdgeRuntime, type EdgeRuntime } from '../edge/edge-runtime.js';
import type { Peer } from '../edge/peer-address.js';
import { TcpGate } from '../edge/tcp-gate.js';
import { LbError } from '../errors.js';
import { encodeProxyHeader } from '../proxy-protocol/encode.js';
import { HostTable } from '../tls/host-table.js';
import type { HostPort, LeaseOutcome, ListenerEngine, ListenerSpec } from '../types.js';
import { dialBackend } from './backend-dial.js';
import { peekServerName } from './sni-peek.js';
import { splice } from './tcp-splice.js';
import type { SpliceEnd, TcpListenerDeps } from './types.js';
import type { AccessRecord } from '../access-log/types.js';

/**
 * Client-side TCP keepalive probe delay. Far below the kernel's 2 h default so that clients that
 * vanish (NAT timeouts, power loss) free their slot within minutes, far above any RTT.
 */
const CLIENT_KEEPALIVE_MS = 60_000;

interface TcpConnection {
  client: Socket;
  /** Set once a backend is connected and spliced. */
  backend: Socket | undefined;
  /** Aborts the dial when the client goes or the listener is destroyed. */
  dial: AbortController;
  /** Edge admission: the client's real address and the per-address slot to give back. */
  peer: Peer | undefined;
  release: () => void;
  /** performance.now() at accept, for the access log. */
  began: number;
  startedAt: number;
  /** Why it ended before a backend took it (access log). */
  outcome?: string;
}

export class TcpListener implements ListenerEngine {
  readonly name: string;
  private spec: ListenerSpec;
  private readonly deps: TcpListenerDeps;
  private readonly log: Logger;
  private readonly server: Server;
  private readonly conns = new Set<TcpConnection>();
  private boundPort = 0;
  private stopped = false;
  private readonly edge: EdgeRuntime;
  private gate: TcpGate;
  private accessLog: AccessLogger | null;
  /** sniRoutes by server name (wildcards as HTTP routes: any depth); undefined when there are none. */
  private sni: HostTable<string> | undefined;

  constructor(spec: ListenerSpec, deps: TcpListenerDeps) {
    this.name = spec.name;
    this.spec = spec;
    this.deps = deps;
    this.log = deps.logger.child({ listener: spec.name });
    this.edge = deps.edge ?? createEdgeRuntime({ logger: deps.logger });
    this.gate = new TcpGate(spec, this.edge, this.log);
    this.accessLog = compileAccessLog(spec.accessLog, this.edge.sinks);
    this.sni = sniTable(spec);
    // pauseOnConnect: nothing is read from the client until a backend is connected, so bytes it
    // sends early wait in the kernel buffer (not in our memory) and are forwarded in order.
    this.server = createServer(
      {
        allowHalfOpen: true,
        pauseOnConnect: true,
        noDelay: true,
        keepAlive: true,
        keepAliveInitialDelay: CLIENT_KEEPALIVE_MS,
      },
      (client) => this.accept(client),
    );
  }

  start(): Promise<void> {
    const bind = this.spec.bind;
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        this.server.off('listening', onListening);
        const msg = `cannot listen on ${formatHostPort(bind)}: ${err.code ?? 'error'} ${err.message}`;
        reject(new LbError('LB_ERR_LISTEN_FAILED', msg, { cause: err }));
      };
      const onListening = (): void => {
        this.server.off('error', onError);
        // After listening, errors come from accept() (EMFILE and the like): log, keep serving.
        this.server.on('error', (err) => this.log.error({ err }, 'listener socket error'));
        const addr = this.server.address();
        if (addr !== null && typeof addr === 'object') this.boundPort = addr.port;
        if (this.stopped) this.server.close();
        resolve();
      };
      this.server.once('error', onError);
      this.server.once('listening', onListening);
      // Never `exclusive`: in a cluster worker the listening socket is shared with the primary.
      this.server.listen({ host: bind.host, port: bind.port });
    });
  }

  update(spec: ListenerSpec): void {
    if (spec.mode !== this.spec.mode || spec.bind.host !== this.spec.bind.host || spec.bind.port !== this.spec.bind.port) {
      // The listening socket is never touched here; the data plane replaces the listener instead.
      this.log.warn({ mode: spec.mode, bind: spec.bind }, 'mode or bind change ignored by update');
    }
    // Established connections keep the timeouts they started with; new ones read this.spec.
    this.spec = { ...spec, mode: this.spec.mode, bind: this.spec.bind };
    this.gate = new TcpGate(this.spec, this.edge, this.log);
    this.accessLog = compileAccessLog(spec.accessLog, this.edge.sinks);
    this.sni = sniTable(spec);
  }

  close(): Promise<void> {
    this.stopped = true;
    if (!this.server.listening) return Promise.resolve();
    // server.close() closes the listening fd at once; its callback would wait for every
    // established connection, which the contract says must be left to finish on its own.
    this.server.close();
    return new Promise((resolve) => setImmediate(resolve));
  }

  destroy(): void {
    this.stopped = true;
    if (this.server.listening) this.server.close();
    for (const conn of this.conns) {
      conn.dial.abort();
      conn.client.destroy();
      conn.backend?.destroy();
    }
  }

  port(): number {
    return this.boundPort;
  }

  activeConnections(): number {
    return this.conns.size;
  }

  private accept(client: Socket): void {
    const spec = this.spec;
    const { metrics } = this.deps;
    const listener = spec.name;
    const pool = spec.pool ?? '';
    metrics.connectionsTotal.inc({ listener });
    // Until the splice takes over, a client error (a reset while we dial) only ends this connection.
    client.on('error', (err) => this.log.debug({ err }, 'client error'));
    if (spec.maxConns > 0 && this.conns.size >= spec.maxConns) {
      metrics.proxyErrorsTotal.inc({ listener, pool, kind: 'limit' });
      client.destroy();
      return;
    }
    const conn: TcpConnection = {
      client,
      backend: undefined,
      dial: new AbortController(),
      peer: undefined,
      release: () => undefined,
      began: performance.now(),
      startedAt: Date.now(),
    };
    this.conns.add(conn);
    metrics.listenerActiveConnections.inc({ listener });
    metrics.listenerInFlight.inc({ listener });
    const logged = this.accessLog?.sampled() === true ? this.accessLog : null;
    client.once('close', () => {
      conn.dial.abort();
      if (conn.backend === undefined) {
        this.finish(conn, listener);
        logged?.log(this.record(conn, spec, conn.outcome ?? 'client_closed', '', '', 0, 0, null, null));
      }
    });
    // Access rules, PROXY header and per-address limits decide before any backend is dialed.
    this.gate
      .admit(client)
      .then((admission) => {
        conn.peer = admission.peer;
        if (!admission.ok) {
          conn.outcome = admission.rule;
          client.destroy();
          return;
        }
        if (client.destroyed) {
          // Gone while we checked: finish() already ran, so the slot goes back here.
          admission.release();
          return;
        }
        conn.release = admission.release;
        return this.route(conn, spec, logged);
      })
      .catch((err: unknown) => {
        this.log.error({ err }, 'tcp connection setup failed');
        client.destroy();
      });
  }

  /** With sniRoutes, the ClientHello's server name picks the pool (TLS is never terminated here). */
  private async route(conn: TcpConnection, spec: ListenerSpec, logged: AccessLogger | null): Promise<void> {
    const sni = this.sni;
    if (sni === undefined) return this.connect(conn, spec, spec.pool, logged);
    const name = await peekServerName(conn.client, spec.timeouts.clientHeaderMs);
    if (conn.client.destroyed) return;
    return this.connect(conn, spec, sni.lookup(name), logged);
  }

  private async connect(conn: TcpConnection, spec: ListenerSpec, pool: string | undefined, logged: AccessLogger | null): Promise<void> {
    const { metrics } = this.deps;
    const listener = spec.name;
    const poolName = pool ?? '';
    const picker = pool === undefined ? undefined : this.deps.pools(pool);
    if (picker === undefined) {
      metrics.proxyErrorsTotal.inc({ listener, pool: poolName, kind: 'no_backend' });
      conn.outcome = 'no_backend';
      conn.client.destroy();
      return;
    }
    const dialStart = performance.now();
    const result = await dialBackend(picker, {
      clientIp: conn.peer?.address ?? clientIp(conn.client),
      retries: spec.retries,
      connectMs: spec.timeouts.connectMs,
      signal: conn.dial.signal,
      onAttemptFailed: (lease, reason, error) => {
        metrics.backendConnectFailuresTotal.inc({ pool: lease.pool, backend: lease.backend });
        this.log.debug({ pool: lease.pool, backend: lease.backend, reason, err: error }, 'backend connect failed');
      },
    });
    switch (result.kind) {
      case 'aborted':
        return;
      case 'failed':
        metrics.proxyErrorsTotal.inc({ listener, pool: poolName, kind: result.reason });
        conn.outcome = result.reason;
        // No bytes: the client sees its connection close, as if the service were not there.
        conn.client.destroy();
        return;
      case 'connected':
        break;
      default: {
        const never: never = result;
        throw new TypeError(`unknown dial result: ${String(never)}`);
      }
    }
    const { socket, lease } = result;
    if (conn.client.destroyed) {
      socket.destroy();
      lease.release('ok');
      return;
    }
    conn.backend = socket;
    const connectMs = performance.now() - dialStart;
    let ttfbMs: number | null = null;
    if (spec.sendProxy !== undefined && conn.peer !== undefined) {
      const p = conn.peer;
      socket.write(encodeProxyHeader(spec.sendProxy, { sourceAddress: p.address, sourcePort: p.port, destAddress: p.localAddress, destPort: p.localPort }));
    }
    const labels = { listener, pool: lease.pool, backend: lease.backend };
    const received = metrics.receivedBytesTotal.labels(labels);
    const sent = metrics.sentBytesTotal.labels(labels);
    splice(conn.client, socket, {
      idleMs: spec.timeouts.idleMs,
      onClientBytes: (n) => received.inc(n),
      onBackendBytes: (n) => {
        ttfbMs ??= performance.now() - conn.began;
        sent.inc(n);
      },
      onEnd: (end) => {
        const outcome = leaseOutcome(end);
        if (outcome === 'server-error') metrics.proxyErrorsTotal.inc({ listener, pool: lease.pool, kind: 'backend_reset' });
        lease.release(outcome);
        this.finish(conn, listener);
        logged?.log(this.record(conn, spec, end.idle ? 'idle_timeout' : outcome === 'ok' ? 'ok' : 'backend_reset', lease.pool, lease.backend, end.clientBytes, end.backendBytes, connectMs, ttfbMs));
        this.log.debug({ ...labels, ...endSummary(end), outcome }, 'tcp connection closed');
      },
    });
  }

  private finish(conn: TcpConnection, listener: string): void {
    if (!this.conns.delete(conn)) return;
    conn.release();
    this.deps.metrics.listenerActiveConnections.dec({ listener });
    this.deps.metrics.listenerInFlight.dec({ listener });
  }

  private record(
    conn: TcpConnection,
    spec: ListenerSpec,
    outcome: string,
    pool: string,
    backend: string,
    bytesIn: number,
    bytesOut: number,
    connectMs: number | null,
    ttfbMs: number | null,
  ): AccessRecord {
    const peer = conn.peer;
    return {
      time: conn.startedAt,
      kind: 'tcp',
      listener: spec.name,
      route: '',
      pool: pool || (spec.pool ?? ''),
      backend,
      client: peer?.address ?? clientIp(conn.client),
      clientPort: peer?.port ?? conn.client.remotePort ?? 0,
      status: 0,
      outcome,
      bytesIn,
      bytesOut,
      connectMs,
      ttfbMs,
      totalMs: performance.now() - conn.began,
    };
  }
}

/**
 * A backend that fails (reset, or any socket error) before sending a single byte counts as a
 * server error for passive outlier detection: it accepted the connection but did not serve it.
 * Once it has sent something, what follows is the protocol's business, and the lease is 'ok';
 * so are client-side errors and idle timeouts, which say nothing about the backend.
 */
export function leaseOutcome(end: SpliceEnd): LeaseOutcome {
  return end.backendError !== undefined && end.backendBytes === 0 ? 'server-error' : 'ok';
}

function endSummary(end: SpliceEnd): Record<string, unknown> {
  return {
    clientBytes: end.clientBytes,
    backendBytes: end.backendBytes,
    idle: end.idle,
    clientError: end.clientError?.message,
    backendError: end.backendError?.message,
  };
}

function sniTable(spec: ListenerSpec): HostTable<string> | undefined {
  const routes = spec.sniRoutes ?? [];
  if (routes.length === 0) return undefined;
  return new HostTable(
    routes.map((r) => [r.host, r.pool] as const),
    spec.pool,
    { wildcard: 'any' },
  );
}

/** IPv4 clients on a dual-stack socket show up as ::ffff:a.b.c.d; ip-hash must see one address. */
function clientIp(socket: Socket): string {
  const ip = socket.remoteAddress ?? '';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

function formatHostPort(a: HostPort): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
