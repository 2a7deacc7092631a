// HttpListener: the L7 ListenerEngine; owns the client-facing server (plain HTTP, or TLS with
// HTTP/1.1 and HTTP/2 by ALPN), routing, response hygiene and compression, and live updates.
import { createServer, IncomingMessage, type Server, type ServerOptions } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { compileAccessLog, type AccessLogger } from '../access-log/access-logger.js';
import { createEdgeRuntime, type EdgeRuntime } from '../edge/edge-runtime.js';
import { HttpGate } from '../edge/http-gate.js';
import { peerOf } from '../edge/peer-address.js';
import { ProxyIntake } from '../edge/proxy-intake.js';
import type { GateVerdict } from '../edge/types.js';
import { LbError } from '../errors.js';
import { TlsError } from '../tls/errors.js';
import type { ListenerEngine, ListenerSpec, RouteSpec } from '../types.js';
import { httpAccessRecord, type Trip } from './access-record.js';
import { answerClientError, DUPLICATE_HOST, hasOneHostAtMost } from './client-errors.js';
import { Exchange, type ExchangeContext } from './exchange.js';
import { KeepAliveDrain } from './keep-alive-drain.js';
import { contextKey, ListenerTls } from './listener-tls.js';
import { compilePolicy, type ResponsePolicy } from './header-policy.js';
import { h1RawHeadersFromH2, upstreamRequestHeaders } from './header-rewrite.js';
import { sendLocalReply, sendPlain } from './local-reply.js';
import { normalizeHost, originForm, requestPath, Router } from './router.js';
import type { ClientRequest, ClientResponse, HttpListenerDeps } from './types.js';
import { UpstreamPools } from './upstream-pools.js';
import type { ResponseTap } from '../cache/types.js';
import { requestCookie, setCookieLine } from './cookies.js';
import { chainTaps, setCookieTap } from './response-tap.js';
import { RouteExtras } from './route-extras.js';
import { retryPolicy, routeTimeouts } from './retry-policy.js';
import { handleUpgrade, type UpgradeSite } from './upgrade.js';
import { StickyPicker } from './sticky-picker.js';
import { proxyBinding } from './proxy-binding.js';

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

/** node reads this per new connection; @types/node does not declare it on Server. */
type SizedServer = (Server | HttpsServer) & { maxHeaderSize: number };

function peerKey(socket: { remoteAddress?: string | undefined; remotePort?: number | undefined }): string {
  return `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
}

/** Host the request was routed on: Host for HTTP/1.1, :authority (or Host) for HTTP/2. */
function requestHost(req: ClientRequest): string {
  if (req instanceof IncomingMessage) return normalizeHost(req.headers.host);
  return normalizeHost(req.authority || req.headers.host);
}

export class HttpListener implements ListenerEngine {
  readonly name: string;
  private spec: ListenerSpec;
  private router: Router;
  private extras: RouteExtras;
  private readonly server: Server | HttpsServer;
  private readonly tls: ListenerTls | undefined;
  private policy: ResponsePolicy | undefined;
  private readonly upstreams: UpstreamPools;
  private readonly sockets = new Set<Socket>();
  private readonly upstreamSockets = new Set<Socket>();
  private readonly marks = new WeakMap<Socket, ByteMark>();
  private readonly awaitingBackend = new WeakMap<Socket, IncomingMessage>();
  /**
   * Connections that have not started a request yet, by client address and port: the one key the
   * raw socket shares with the TLS socket and HTTP/2 session a request arrives on.
   */
  private readonly fresh = new Map<string, Socket>();
  private draining = false;
  /** Before a planned VIP move: keep-alive connections on the VIP are closed (keep-alive-drain.ts). */
  private readonly keepAlive = new KeepAliveDrain();
  private closed: Promise<void> | undefined;
  private readonly edge: EdgeRuntime;
  private gate: HttpGate;
  private accessLog: AccessLogger | null;
  private intake: ProxyIntake | null;

  constructor(
    spec: ListenerSpec,
    private readonly deps: HttpListenerDeps,
  ) {
    this.name = spec.name;
    this.spec = spec;
    this.router = new Router(spec.routes);
    this.policy = compilePolicy(spec);
    this.extras = this.buildExtras(spec);
    this.upstreams = new UpstreamPools(spec.timeouts.connectMs, spec.timeouts.idleMs);
    this.upstreams.setBackendTls(spec.backendTls);
    this.edge = deps.edge ?? createEdgeRuntime({ logger: deps.logger });
    this.gate = new HttpGate(spec, this.edge, deps.logger);
    this.accessLog = compileAccessLog(spec.accessLog, this.edge.sinks);
    this.intake = spec.acceptProxy === true ? new ProxyIntake(spec) : null;
    const httpOptions: ServerOptions = {
      maxHeaderSize: spec.maxHeaderBytes,
      headersTimeout: spec.timeouts.clientHeaderMs,
      // The whole-request deadline would cut long uploads; idle sockets are guarded instead.
      requestTimeout: 0,
      keepAliveTimeout: spec.timeouts.idleMs,
      connectionsCheckingInterval: DEADLINE_CHECK_MS,
    };
    if (spec.tls === undefined) {
      this.server = createServer(httpOptions);
    } else {
      const parts = new ListenerTls(spec, spec.tls, {
        tls: deps.tls,
        logger: deps.logger,
        onRequest: (req, res) => this.onRequest(req, res),
        port: () => this.port(),
      });
      this.tls = parts;
      const alpn = spec.tls.http2 ? ['h2', 'http/1.1'] : ['http/1.1'];
      // An https.Server rather than http2's allowHTTP1: HTTP/1.1 over TLS then gets exactly the
      // plain listener's guards (header deadline, idle cut, maxConnections, client errors).
      const server = createHttpsServer({ ...httpOptions, ...parts.certificates.serverOptions(alpn, spec.timeouts.clientHeaderMs) });
      this.server = server;
      parts.attach(server, (socket) => this.marks.set(socket, { read: 0, written: 0 }));
      server.on('tlsClientError', (err: Error) => {
        deps.metrics.proxyErrorsTotal.inc({ listener: this.name, pool: '', kind: 'tls_handshake' });
        deps.logger.debug({ listener: this.name, err: err.message }, 'TLS handshake failed');
      });
    }
    this.applyServerLimits(spec);
    this.server.on('connection', (socket: Socket) => this.onConnection(socket));
    this.server.on('request', (req: ClientRequest, res: ClientResponse) => this.onRequest(req, res));
    const upgrades: UpgradeSite = {
      name: this.name,
      deps,
      upstreams: this.upstreams,
      upstreamSockets: this.upstreamSockets,
      live: () => ({ spec: this.spec, router: this.router, extras: this.extras, gate: this.gate }),
      accountBytes: (socket, pool, backend) => this.accountBytes(socket, pool, backend),
    };
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => handleUpgrade(upgrades, req, socket as Socket, head));
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) =>
      this.onClientError(err, socket as Socket),
    );
    this.server.on('timeout', (socket: Socket) => this.onIdle(socket));
    this.server.on('drop', () =>
      deps.metrics.proxyErrorsTotal.inc({ listener: this.name, pool: '', kind: 'limit' }),
    );
    this.interceptConnections();
  }

  /**
   * acceptProxy: the PROXY header is read off each new socket before node's HTTP (or TLS) handler
   * sees a byte; the handlers node attached are called once it was valid. Read per connection, so
   * turning acceptProxy on or off is live.
   */
  private interceptConnections(): void {
    const handlers = this.server.listeners('connection') as ((socket: Socket) => void)[];
    this.server.removeAllListeners('connection');
    const hand = (socket: Socket): void => {
      for (const h of handlers) h.call(this.server, socket);
    };
    this.server.on('connection', (socket: Socket) => {
      const intake = this.intake;
      if (intake === null) {
        hand(socket);
        return;
      }
      socket.on('error', () => socket.destroy());
      void intake.accept(socket).then((r) => {
        if (r.ok) {
          if (!socket.destroyed) hand(socket);
          return;
        }
        this.edge.metrics.decisionsTotal.inc({ listener: this.name, rule: r.rule, action: 'blocked' });
        this.deps.logger.warn({ listener: this.name, rule: r.rule, peer: socket.remoteAddress, reason: r.reason }, 'edge: connection refused');
        socket.destroy();
      });
    });
  }

  async start(): Promise<void> {
    if (this.tls !== undefined && this.spec.tls !== undefined) {
      try {
        this.tls.certificates.load(this.spec.tls);
      } catch (err) {
        const reason = err instanceof TlsError ? err.message : String(err);
        throw new LbError('LB_ERR_LISTEN_FAILED', `listener "${this.name}": ${reason}`, { cause: err });
      }
    }
    await this.listen();
    // After listen: inside a cluster worker node hands every worker the ticket keys of the first
    // one to listen (tls _setServerData), and those never rotate. Ours derive from the node's seed,
    // so every worker holds the same keys and they rotate together.
    this.tls?.tickets.start();
    await this.tls?.redirect?.start(this.name);
  }

  private listen(): Promise<void> {
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
    const previous = this.spec;
    this.spec = { ...spec, mode: this.spec.mode, bind: this.spec.bind };
    this.router = new Router(spec.routes);
    this.policy = compilePolicy(spec);
    this.extras = this.buildExtras(spec);
    this.applyServerLimits(spec);
    this.upstreams.setTimeouts(spec.timeouts.connectMs, spec.timeouts.idleMs);
    this.upstreams.setBackendTls(spec.backendTls);
    this.gate = new HttpGate(this.spec, this.edge, this.deps.logger);
    this.accessLog = compileAccessLog(spec.accessLog, this.edge.sinks);
    this.intake = spec.acceptProxy === true ? new ProxyIntake(spec) : null;
    if (this.tls !== undefined && spec.tls !== undefined && contextKey(spec.tls) !== contextKey(previous.tls)) {
      try {
        this.tls.certificates.load(spec.tls);
      } catch (err) {
        // update() has no error channel: the listener keeps serving the certificates it has.
        this.deps.logger.error({ listener: this.name, err: (err as Error).message }, 'new TLS settings refused; still serving the previous ones');
      }
    }
    this.tls?.h2?.setLimits(spec.maxHeaderBytes, spec.timeouts.idleMs);
  }

  /** Closes keep-alive connections on `ip` (null: stops); returns those still open there. */
  closeKeepAliveOn(ip: string | null): number {
    return this.keepAlive.closeOn(ip);
  }

  close(): Promise<void> {
    this.draining = true;
    this.keepAlive.stop();
    this.closed ??= new Promise<void>((resolve) => {
      // node >= 19 also closes the connections that are idle right now; those busy get
      // Connection: close on their response and are closed once it finished (onRequest).
      this.server.close(() => resolve());
      this.tls?.h2?.close();
    })
      .then(() => this.tls?.redirect?.close())
      .then(() => {
        this.tls?.stop();
        return this.upstreams.close();
      });
    return this.closed;
  }

  destroy(): void {
    this.draining = true;
    this.keepAlive.stop();
    this.closed ??= new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.tls?.h2?.destroy();
    this.tls?.redirect?.destroy();
    this.tls?.stop();
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

  /** Port of the HTTP -> HTTPS redirect companion (tls.redirectHttp), 0 when there is none. */
  redirectPort(): number {
    return this.tls?.redirect?.port() ?? 0;
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
    // A connection counts as work in flight until its first request takes the count over (onRequest).
    const key = peerKey(socket);
    this.fresh.set(key, socket);
    this.deps.metrics.listenerInFlight.inc(labels);
    socket.once('close', () => {
      this.sockets.delete(socket);
      this.deps.metrics.listenerActiveConnections.dec(labels);
      if (this.fresh.get(key) !== socket) return;
      this.fresh.delete(key);
      this.deps.metrics.listenerInFlight.dec(labels);
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

  /** Attribute the socket's bytes since the last request on it to this request's labels; returns them. */
  private accountBytes(socket: Socket, pool: string, backend: string): { read: number; written: number } {
    const mark = this.marks.get(socket);
    if (mark === undefined) return { read: 0, written: 0 };
    const labels = { listener: this.name, pool, backend };
    const read = socket.bytesRead - mark.read;
    const written = socket.bytesWritten - mark.written;
    this.deps.metrics.receivedBytesTotal.inc(labels, read);
    this.deps.metrics.sentBytesTotal.inc(labels, written);
    mark.read = socket.bytesRead;
    mark.written = socket.bytesWritten;
    return { read, written };
  }

  private onRequest(req: ClientRequest, res: ClientResponse): void {
    const began = performance.now();
    const h1 = req instanceof IncomingMessage;
    const host = requestHost(req);
    const path = requestPath(req.url ?? '/');
    const route = this.router.match(host, path);
    const split = route === undefined ? undefined : this.extras.split(route);
    const header = (name: string): string | undefined => {
      const v = req.headers[name];
      return Array.isArray(v) ? v.join(', ') : v;
    };
    const choice = split?.choose(header, (name) => requestCookie(req, name));
    const pool = choice?.pool ?? route?.pool ?? '';
    const trip: Trip = { startedAt: Date.now() };
    const logged = this.accessLog?.sampled() === true ? this.accessLog : null;
    // The connection's own count becomes this request's; later requests on it add their own.
    if (!this.fresh.delete(peerKey(req.socket))) this.deps.metrics.listenerInFlight.inc({ listener: this.name });
    if (h1) this.keepAlive.requestStarted(req.socket, res);
    res.once('close', () => {
      this.deps.metrics.listenerInFlight.dec({ listener: this.name });
      if (h1) this.keepAlive.requestEnded(req.socket);
      const backend = trip.exchange?.reachedBackend ?? '';
      const code = res.headersSent ? String(res.statusCode) : CLIENT_CLOSED;
      this.deps.metrics.httpRequestsTotal.inc({ listener: this.name, pool, backend, code });
      this.deps.metrics.httpRequestDuration.observe({ listener: this.name, pool }, (performance.now() - began) / 1000);
      // HTTP/2 streams share their connection: its bytes are not one request's.
      const bytes = h1 ? this.accountBytes(req.socket, pool, backend) : { read: 0, written: 0 };
      logged?.log(httpAccessRecord(req, trip, { listener: this.name, route, pool, status: Number(code), bytes, began }));
      if (this.draining) setImmediate(() => this.server.closeIdleConnections());
    });
    if (this.draining && h1) res.setHeader('Connection', 'close');

    if (!hasOneHostAtMost(req.rawHeaders)) {
      if (h1) res.setHeader('Connection', 'close');
      sendPlain(res, 400, DUPLICATE_HOST);
      return;
    }
    const clientIp = peerOf(req.socket).address;
    // Access rules, the request filter and rate limits decide before any backend is picked.
    const verdict = this.gate.check(req, route, clientIp, originForm(req.url ?? '/'));
    const go = (v: GateVerdict): void => this.afterGate(req, res, { route, pool, pinCookie: choice?.pinCookie, clientIp, trip }, v);
    if (verdict instanceof Promise) {
      verdict.then(go).catch((err: unknown) => {
        this.deps.logger.error({ err, listener: this.name }, 'edge checks failed');
        sendPlain(res, 500, 'internal error');
      });
    } else {
      go(verdict);
    }
  }

  private afterGate(
    req: ClientRequest,
    res: ClientResponse,
    at: { route: RouteSpec | undefined; pool: string; pinCookie: string | undefined; clientIp: string; trip: Trip },
    verdict: GateVerdict,
  ): void {
    const { route, pool, clientIp, trip } = at;
    // The client left while the edge checks waited (on the node, or for a JSON body).
    if (res.destroyed || res.writableEnded) return;
    if (verdict.kind === 'reject') {
      trip.rule = verdict.rule;
      for (const [name, value] of Object.entries(verdict.headers ?? {})) res.setHeader(name, value);
      // A request refused with its body unread: the connection cannot carry another one.
      if (req instanceof IncomingMessage && !req.complete) res.setHeader('Connection', 'close');
      sendPlain(res, verdict.status, verdict.reason);
      return;
    }
    const h1 = req instanceof IncomingMessage;
    const host = requestHost(req);
    const path = requestPath(req.url ?? '/');
    if (route === undefined) {
      this.deps.metrics.proxyErrorsTotal.inc({ listener: this.name, pool: '', kind: 'no_route' });
      sendLocalReply(res, new LbError('LB_ERR_NO_ROUTE', `no route for ${host === '' ? '-' : host} ${path}`));
      return;
    }
    const picker = this.deps.pools(pool);
    if (picker === undefined) {
      this.deps.metrics.proxyErrorsTotal.inc({ listener: this.name, pool, kind: 'no_backend' });
      sendLocalReply(res, new LbError('LB_ERR_NO_BACKEND', `no healthy backend in pool "${pool}"`));
      return;
    }
    const raw = h1 ? req.rawHeaders : h1RawHeadersFromH2(req.rawHeaders);
    const headers = upstreamRequestHeaders(raw, { clientIp, proto: this.proto() }, false);
    // Cookies the balancer sets ride on the backend's response (never on a cached one).
    const secure = this.spec.tls !== undefined;
    const taps: ResponseTap[] = [];
    let chosen: ExchangeContext['picker'] = picker;
    const stickyName = picker.stickyCookie?.();
    if (stickyName !== undefined) {
      const sticky = new StickyPicker(picker, requestCookie(req, stickyName));
      chosen = sticky;
      taps.push(setCookieTap(() => {
        const backend = sticky.cookieUpdate();
        return backend === undefined ? undefined : setCookieLine(stickyName, backend, secure);
      }));
    }
    const pinCookie = route.pin?.cookie;
    if (at.pinCookie !== undefined && pinCookie !== undefined) {
      const line = setCookieLine(pinCookie, at.pinCookie, secure);
      taps.push(setCookieTap(() => line));
    }
    const forward = (upstream: typeof headers, cacheTap?: ResponseTap): void => {
      const ctx = this.exchangeContext(chosen, route, verdict.body);
      if (this.spec.sendProxy !== undefined) ctx.proxy = proxyBinding(req, this.spec.sendProxy);
      ctx.tap = chainTaps(cacheTap === undefined ? taps : [cacheTap, ...taps]);
      trip.exchange = new Exchange(req, res, upstream, clientIp, ctx);
      trip.exchange.start();
    };
    const cache = this.extras.cache(route);
    if (cache === undefined) {
      forward(headers);
      return;
    }
    const target = originForm(req.url ?? '/');
    cache.handle(req, res, `${host}${target}`, target, headers, (upstream, tap) => forward(upstream, tap));
  }

  private buildExtras(spec: ListenerSpec): RouteExtras {
    const compression = spec.compression?.enabled === true ? spec.compression : undefined;
    return new RouteExtras(spec.name, spec.routes, { caches: this.deps.caches, policy: compilePolicy(spec), compression, now: Date.now });
  }

  private exchangeContext(picker: ExchangeContext['picker'], route: RouteSpec, body?: Buffer): ExchangeContext {
    const { metrics, logger } = this.deps;
    const retry = retryPolicy(this.spec, route);
    return {
      body,
      listener: this.name,
      picker,
      upstreams: this.upstreams,
      timeouts: routeTimeouts(this.spec, route),
      retry,
      metrics,
      logger,
      awaitingBackend: this.awaitingBackend,
      draining: () => this.draining,
      policy: this.policy,
      compression: this.spec.compression?.enabled === true ? this.spec.compression : undefined,
    };
  }

  private proto(): string {
    return this.spec.tls === undefined ? 'http' : 'https';
  }

  private onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
    const status = answerClientError(err, socket);
    if (status !== null) this.deps.metrics.httpRequestsTotal.inc({ listener: this.name, pool: '', backend: '', code: String(status) });
  }
}
