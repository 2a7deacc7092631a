// HttpListener: the L7 ListenerEngine; owns the client-facing server, routing and live updates.
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { LbError } from '../errors.js';
import type { ListenerEngine, ListenerSpec } from '../types.js';
import { Exchange, type ExchangeContext } from './exchange.js';
import { clientAddress, upstreamRequestHeaders } from './header-rewrite.js';
import { rawReply, sendLocalReply, sendPlain } from './local-reply.js';
import { normalizeHost, requestPath, Router } from './router.js';
import { Tunnel } from './tunnel.js';
import type { HttpListenerDeps } from './types.js';
import { UpstreamPools } from './upstream-pools.js';

/**
 * How often node checks header/request deadlines on open connections (its default is 30 s,
 * far too coarse for a slowloris guard measured in seconds).
 */
const DEADLINE_CHECK_MS = 250;
/** Metrics code for a request the client abandoned before any response (nginx's convention). */
const CLIENT_CLOSED = '499';

interface ByteMark {
  read: number;
  written: number;
}

/** What a client-side parse or deadline error becomes on the wire (node's own mapping). */
const CLIENT_ERROR_REPLIES: Readonly<Record<string, { status: number; body: string }>> = {
  HPE_HEADER_OVERFLOW: { status: 431, body: 'request header block too large' },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: { status: 413, body: 'chunk extensions too large' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, body: 'request headers not received in time' },
};
const MALFORMED = { status: 400, body: 'malformed request' };

/**
 * RFC 9112 3.2: more than one Host line is a 400. node accepts it, and the backend could then
 * pick a different Host than the one we routed on.
 */
function hasOneHostAtMost(raw: readonly string[]): boolean {
  let seen = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]?.toLowerCase() === 'host') seen += 1;
  return seen <= 1;
}
const DUPLICATE_HOST = 'more than one Host header';

/** node reads this per new connection; @types/node does not declare it on Server. */
type SizedServer = Server & { maxHeaderSize: number };

export class HttpListener implements ListenerEngine {
  readonly name: string;
  private spec: ListenerSpec;
  private router: Router;
  private readonly server: Server;
  private readonly upstreams: UpstreamPools;
  private readonly sockets = new Set<Socket>();
  private readonly upstreamSockets = new Set<Socket>();
  private readonly marks = new WeakMap<Socket, ByteMark>();
  private readonly awaitingBackend = new WeakMap<Socket, IncomingMessage>();
  private draining = false;
  private closed: Promise<void> | undefined;

  constructor(
    spec: ListenerSpec,
    private readonly deps: HttpListenerDeps,
  ) {
    this.name = spec.name;
    this.spec = spec;
    this.router = new Router(spec.routes);
    this.upstreams = new UpstreamPools(spec.timeouts.connectMs, spec.timeouts.idleMs);
    this.server = createServer({
      maxHeaderSize: spec.maxHeaderBytes,
      headersTimeout: spec.timeouts.clientHeaderMs,
      // The whole-request deadline would cut long uploads; idle sockets are guarded instead.
      requestTimeout: 0,
      keepAliveTimeout: spec.timeouts.idleMs,
      connectionsCheckingInterval: DEADLINE_CHECK_MS,
    });
    this.applyServerLimits(spec);
    this.server.on('connection', (socket: Socket) => this.onConnection(socket));
    this.server.on('request', (req: IncomingMessage, res: ServerResponse) => this.onRequest(req, res));
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.onUpgrade(req, socket as Socket, head),
    );
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) =>
      this.onClientError(err, socket as Socket),
    );
    this.server.on('timeout', (socket: Socket) => this.onIdle(socket));
    this.server.on('drop', () =>
      deps.metrics.proxyErrorsTotal.inc({ listener: this.name, pool: '', kind: 'limit' }),
    );
  }

  start(): Promise<void> {
    const { host, port } = this.spec.bind;
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        reject(new LbError('LB_ERR_LISTEN_FAILED', `listener "${this.name}" cannot listen on ${host}:${port}: ${err.message}`, { cause: err }));
      };
      this.server.once('error', onError);
      // Inside a cluster worker (SCHED_NONE) the primary shares the handle; never exclusive.
      this.server.listen({ host, port }, () => {
        this.server.off('error', onError);
        this.server.on('error', (err) => this.deps.logger.error({ err, listener: this.name }, 'listener error'));
        resolve();
      });
    });
  }

  update(spec: ListenerSpec): void {
    if (spec.mode !== this.spec.mode || spec.bind.host !== this.spec.bind.host || spec.bind.port !== this.spec.bind.port) {
      this.deps.logger.warn({ listener: this.name }, 'mode or bind change ignored; the worker must recreate the listener');
    }
    this.spec = { ...spec, mode: this.spec.mode, bind: this.spec.bind };
    this.router = new Router(spec.routes);
    this.applyServerLimits(spec);
    this.upstreams.setTimeouts(spec.timeouts.connectMs, spec.timeouts.idleMs);
  }

  close(): Promise<void> {
    this.draining = true;
    this.closed ??= new Promise<void>((resolve) => {
      // node >= 19 also closes the connections that are idle right now; those busy get
      // Connection: close on their response and are closed once it finished (onRequest).
      this.server.close(() => resolve());
    }).then(() => this.upstreams.close());
    return this.closed;
  }

  destroy(): void {
    this.draining = true;
    this.closed ??= new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    for (const socket of this.upstreamSockets) socket.destroy();
    this.upstreams.destroy();
  }

  port(): number {
    const address = this.server.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  }

  activeConnections(): number {
    return this.sockets.size;
  }

  /** Node reads these per connection or per check, so setting them is a live change. */
  private applyServerLimits(spec: ListenerSpec): void {
    (this.server as SizedServer).maxHeaderSize = spec.maxHeaderBytes;
    this.server.headersTimeout = spec.timeouts.clientHeaderMs;
    this.server.keepAliveTimeout = spec.timeouts.idleMs;
    this.server.timeout = spec.timeouts.idleMs;
    this.server.maxConnections = spec.maxConns > 0 ? spec.maxConns : 0;
  }

  private onConnection(socket: Socket): void {
    const labels = { listener: this.name };
    this.sockets.add(socket);
    this.marks.set(socket, { read: 0, written: 0 });
    this.deps.metrics.connectionsTotal.inc(labels);
    this.deps.metrics.listenerActiveConnections.inc(labels);
    socket.once('close', () => {
      this.sockets.delete(socket);
      this.deps.metrics.listenerActiveConnections.dec(labels);
    });
  }

  /**
   * Socket inactivity (idleMs): a request sent whole and waiting on its backend is bounded by
   * responseHeaderMs instead; everything else (idle keep-alive, stalled upload, a client that
   * stopped reading) is cut.
   */
  private onIdle(socket: Socket): void {
    if (this.awaitingBackend.get(socket)?.complete === true) {
      socket.setTimeout(this.spec.timeouts.idleMs);
      return;
    }
    socket.destroy();
  }

  /** Attribute the socket's bytes since the last request on it to this request's labels. */
  private accountBytes(socket: Socket, pool: string, backend: string): void {
    const mark = this.marks.get(socket);
    if (mark === undefined) return;
    const labels = { listener: this.name, pool, backend };
    this.deps.metrics.receivedBytesTotal.inc(labels, socket.bytesRead - mark.read);
    this.deps.metrics.sentBytesTotal.inc(labels, socket.bytesWritten - mark.written);
    mark.read = socket.bytesRead;
    mark.written = socket.bytesWritten;
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const began = performance.now();
    const host = normalizeHost(req.headers.host);
    const path = requestPath(req.url ?? '/');
    const route = this.router.match(host, path);
    const pool = route?.pool ?? '';
    const trip: { exchange?: Exchange } = {};
    res.once('close', () => {
      const backend = trip.exchange?.reachedBackend ?? '';
      const code = res.headersSent ? String(res.statusCode) : CLIENT_CLOSED;
      this.deps.metrics.httpRequestsTotal.inc({ listener: this.name, pool, backend, code });
      this.deps.metrics.httpRequestDuration.observe({ listener: this.name, pool }, (performance.now() - began) / 1000);
      this.accountBytes(req.socket, pool, backend);
      if (this.draining) setImmediate(() => this.server.closeIdleConnections());
    });
    if (this.draining) res.setHeader('Connection', 'close');

    if (!hasOneHostAtMost(req.rawHeaders)) {
      res.setHeader('Connection', 'close');
      sendPlain(res, 400, DUPLICATE_HOST);
      return;
    }
    if (route === undefined) {
      this.deps.metrics.proxyErrorsTotal.inc({ listener: this.name, pool: '', kind: 'no_route' });
      sendLocalReply(res, new LbError('LB_ERR_NO_ROUTE', `no route for ${host === '' ? '-' : host} ${path}`));
      return;
    }
    const picker = this.deps.pools(route.pool);
    if (picker === undefined) {
      this.deps.metrics.proxyErrorsTotal.inc({ listener: this.name, pool, kind: 'no_backend' });
      sendLocalReply(res, new LbError('LB_ERR_NO_BACKEND', `no healthy backend in pool "${route.pool}"`));
      return;
    }
    const clientIp = clientAddress(req.socket.remoteAddress);
    const headers = upstreamRequestHeaders(req.rawHeaders, { clientIp, proto: 'http' }, false);
    trip.exchange = new Exchange(req, res, headers, clientIp, this.exchangeContext(picker));
    trip.exchange.start();
  }

  private exchangeContext(picker: ExchangeContext['picker']): ExchangeContext {
    const { metrics, logger } = this.deps;
    return {
      listener: this.name,
      picker,
      upstreams: this.upstreams,
      timeouts: this.spec.timeouts,
      retries: this.spec.retries,
      metrics,
      logger,
      awaitingBackend: this.awaitingBackend,
      draining: () => this.draining,
    };
  }

  private onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const began = performance.now();
    const host = normalizeHost(req.headers.host);
    const path = requestPath(req.url ?? '/');
    const route = this.router.match(host, path);
    const pool = route?.pool ?? '';
    let backend = '';
    socket.once('close', () => this.accountBytes(socket, pool, backend));
    const record = (status: number, reached: string): void => {
      backend = reached;
      this.deps.metrics.httpRequestsTotal.inc({ listener: this.name, pool, backend, code: String(status) });
      this.deps.metrics.httpRequestDuration.observe({ listener: this.name, pool }, (performance.now() - began) / 1000);
    };
    if (!hasOneHostAtMost(req.rawHeaders)) {
      record(400, '');
      socket.on('error', () => socket.destroy());
      socket.end(rawReply(400, 'Bad Request', DUPLICATE_HOST));
      return;
    }
    const picker = route === undefined ? undefined : this.deps.pools(route.pool);
    if (route === undefined || picker === undefined) {
      const [status, kind, body] =
        route === undefined
          ? ([404, 'no_route', `no route for ${host === '' ? '-' : host} ${path}`] as const)
          : ([503, 'no_backend', `no healthy backend in pool "${route.pool}"`] as const);
      this.deps.metrics.proxyErrorsTotal.inc({ listener: this.name, pool, kind });
      record(status, '');
      socket.on('error', () => socket.destroy());
      socket.end(rawReply(status, STATUS_CODES[status] ?? 'Error', body));
      return;
    }
    const clientIp = clientAddress(socket.remoteAddress);
    const headers = upstreamRequestHeaders(req.rawHeaders, { clientIp, proto: 'http' }, true);
    new Tunnel(req, socket, head, headers, clientIp, {
      listener: this.name,
      picker,
      timeouts: this.spec.timeouts,
      retries: this.spec.retries,
      metrics: this.deps.metrics,
      logger: this.deps.logger,
      upstreamSockets: this.upstreamSockets,
      onResult: record,
    }).start();
  }

  private onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
    // Mirrors node's default handler (which a listener replaces): answer only when no
    // response of ours is in flight on this socket, so a pipelined reply is never corrupted.
    if (err.code === 'ECONNRESET' || err.code === 'EPIPE') {
      socket.destroy();
      return;
    }
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
    if (socket.writable && (inFlight === undefined || inFlight === null || inFlight.headersSent !== true)) {
      const { status, body } = (err.code === undefined ? undefined : CLIENT_ERROR_REPLIES[err.code]) ?? MALFORMED;
      this.deps.metrics.httpRequestsTotal.inc({ listener: this.name, pool: '', backend: '', code: String(status) });
      socket.end(rawReply(status, STATUS_CODES[status] ?? 'Error', body), () => socket.destroy());
      return;
    }
    socket.destroy();
  }
}
