// One client request's trip to a backend: pick, dispatch, stream both ways (compressing when the
// listener says so), retry, fail cleanly. The client side is HTTP/1.1 or HTTP/2; the backend HTTP/1.1.
import { IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import { LbError } from '../errors.js';
import type { DataPlaneMetrics } from '../metrics.js';
import type { BackendLease, CompressionSpec, LeaseOutcome, PoolPicker } from '../types.js';
import { contentLength, createEncoder, planCompression, type Coding } from './compression.js';
import { downstreamResponseHeaders } from './header-rewrite.js';
import { applyPolicy, type ResponsePolicy } from './header-policy.js';
import { kindFor, sendLocalReply } from './local-reply.js';
import { originForm } from './router.js';
import type { ClientRequest, ClientResponse, FlatHeaders, HttpTimeouts } from './types.js';
import type { UpstreamPools } from './upstream-pools.js';
import type { RetryPolicy } from './retry-policy.js';
import type { RetryCondition } from '../types.js';
import type { ResponseTap } from '../cache/types.js';
import type { ProxyBinding } from './proxy-binding.js';

/** Error codes meaning the backend's socket ended under the request (vs. a malformed response). */
const SOCKET_ENDED = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE', 'UND_ERR_CLOSED']);

export interface ExchangeContext {
  listener: string;
  picker: PoolPicker;
  upstreams: UpstreamPools;
  timeouts: HttpTimeouts;
  /** When to try another backend, how often, for which methods (the route's, else the listener's). */
  retry: RetryPolicy;
  metrics: DataPlaneMetrics;
  logger: Logger;
  /** Client sockets whose request waits for backend headers, and that request (idle guard). */
  awaitingBackend: WeakMap<Socket, IncomingMessage>;
  /** True once the listener drains: responses then say Connection: close. */
  draining(): boolean;
  /** Response header hygiene (and HSTS) of the listener. */
  policy: ResponsePolicy | undefined;
  compression: CompressionSpec | undefined;
  /** The request body already read whole (a JSON route's check); sent instead of the stream. */
  body?: Buffer | undefined;
  /** Sees the backend's response before the client does (cache fills, sticky and split cookies). */
  tap?: ResponseTap | undefined;
  /** sendProxy: backend connections of this client connection only, each opened with its PROXY header. */
  proxy?: ProxyBinding | undefined;
}

/** A compressed body waits at most this long in the encoder when the backend pauses (streams, SSE). */
const ENCODER_FLUSH_MS = 50;

/**
 * Whether the request carries a body: HTTP/1.1 framing headers decide (RFC 9112 6.3), not the
 * method; an HTTP/2 request has one unless its HEADERS frame ended the stream.
 */
function hasBody(req: ClientRequest): boolean {
  if (!(req instanceof IncomingMessage)) return !req.stream.endAfterHeaders;
  const length = req.headers['content-length'];
  if (length !== undefined) return length !== '0';
  return req.headers['transfer-encoding'] !== undefined;
}

function errorCode(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  return typeof code === 'string' ? code : err.name;
}

/** An HTTP/2 response takes a header object; repeated names become arrays. */
function headerObject(flat: FlatHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const name = (flat[i] ?? '').toLowerCase();
    const value = flat[i + 1] ?? '';
    const prev = out[name];
    out[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return out;
}

/** HTTP/2 has no reason phrase and no connection-specific fields (RFC 9113 8.2.2). */
export function writeHead(res: ClientResponse, status: number, statusMessage: string | undefined, headers: FlatHeaders): void {
  if (!isH1(res)) {
    res.writeHead(status, headerObject(headers));
    return;
  }
  if (statusMessage === undefined || statusMessage === '') res.writeHead(status, headers);
  else res.writeHead(status, statusMessage, headers);
}

export function writeBody(res: ClientResponse, chunk: Buffer): boolean {
  return isH1(res) ? res.write(chunk) : res.write(chunk);
}

function isH1(res: ClientResponse): res is ServerResponse {
  return !('stream' in res);
}

/**
 * Whether the response went out whole before it closed. node's HTTP/2 compat response says
 * writableFinished (and emits 'finish') also for a stream the client reset, which left the backend
 * request running, paused on a dead stream, holding its connection and lease for good: for HTTP/2
 * only our own end() counts.
 */
function sentWhole(res: ClientResponse): boolean {
  return isH1(res) ? res.writableFinished : res.writableEnded;
}

function rawHeaderList(controller: Dispatcher.DispatchController): readonly (string | Buffer)[] {
  const raw = controller.rawHeaders;
  if (Array.isArray(raw)) return raw;
  const out: string[] = [];
  for (const [name, value] of Object.entries(raw ?? {})) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) out.push(name, v);
  }
  return out;
}

export class Exchange {
  /** Backend that got bytes of this request; "" while none did (metrics label). */
  reachedBackend = '';
  /** performance.now() marks of the last attempt, for the access log. */
  readonly timing: { connectedAt?: number; firstByteAt?: number } = {};
  private readonly tried = new Set<string>();
  private readonly withBody: boolean;
  private attempts = 0;
  private lastError: LbError | undefined;
  private controller: Dispatcher.DispatchController | undefined;
  private clientGone = false;

  constructor(
    private readonly req: ClientRequest,
    private readonly res: ClientResponse,
    private readonly headers: FlatHeaders,
    private readonly clientIp: string,
    private readonly ctx: ExchangeContext,
  ) {
    this.withBody = hasBody(req);
    res.once('close', () => {
      if (sentWhole(res)) return;
      this.clientGone = true;
      this.ctx.tap?.abort();
      this.controller?.abort(new Error('client closed the connection'));
    });
  }

  start(): void {
    this.attempt();
  }

  /**
   * Whether a failed attempt may be repeated on another backend. A connect failure sent nothing,
   * so any method goes; after that, only the policy's methods, and only when the body can be sent
   * again: none, or one the listener already read whole (ctx.body). A streamed body is gone.
   */
  private mayRetry(condition: RetryCondition): boolean {
    const { retry } = this.ctx;
    if (this.attempts > retry.attempts || !retry.on.has(condition)) return false;
    if (condition === 'connect-failure') return true;
    return retry.methods.has(this.req.method ?? '') && (!this.withBody || this.ctx.body !== undefined);
  }

  private attempt(next?: BackendLease): void {
    const { picker } = this.ctx;
    const lease = next ?? picker.acquire(this.clientIp, this.tried);
    if (lease === undefined) {
      this.fail(this.lastError ?? new LbError('LB_ERR_NO_BACKEND', `no healthy backend in pool "${picker.name}"`));
      return;
    }
    this.attempts += 1;
    this.tried.add(lease.backend);
    // The pool runtime keeps the per-backend in-flight gauge; this guard keeps "exactly once".
    let released = false;
    const release = (outcome: LeaseOutcome): void => {
      if (released) return;
      released = true;
      lease.release(outcome);
    };
    this.dispatch(lease, release);
  }

  private dispatch(lease: BackendLease, release: (outcome: LeaseOutcome) => void): void {
    const { req, res, ctx } = this;
    // HTTP/2 streams share a socket: the idle guard that reads awaitingBackend is HTTP/1.1 only.
    const socket = req instanceof IncomingMessage ? req.socket : undefined;
    let started = false;
    let responded = false;
    let status = 0;
    // Set when a 5xx answer is dropped for another backend's: this attempt's later events are moot.
    let superseded = false;
    let headerTimer: NodeJS.Timeout | undefined;
    const responseHeaderMs = ctx.timeouts.responseHeaderMs;
    // Our own timer rather than undici's headersTimeout: undici runs it on its coarse "fast
    // timers" (about 1 s resolution), too loose for sub-second deadlines. It starts once the
    // whole request is out, so a long upload does not count against the backend.
    const armHeaderTimer = (controller: Dispatcher.DispatchController): void => {
      if (responded || controller.aborted) return;
      headerTimer = setTimeout(() => {
        const name = `backend "${lease.backend}" (${lease.host}:${lease.port})`;
        controller.abort(
          new LbError('LB_ERR_RESPONSE_TIMEOUT', `${name} sent no response headers within ${responseHeaderMs} ms`),
        );
      }, responseHeaderMs);
    };
    if (socket !== undefined) ctx.awaitingBackend.set(socket, req as IncomingMessage);
    let body: BodySink | undefined;
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart: (controller) => {
        started = true;
        this.timing.connectedAt = performance.now();
        this.controller = controller;
        this.reachedBackend = lease.backend;
        if (this.clientGone) {
          controller.abort(new Error('client closed the connection'));
          return;
        }
        if (!this.withBody || req.complete) armHeaderTimer(controller);
        else req.once('end', () => armHeaderTimer(controller));
      },
      onResponseStart: (controller, statusCode, _headers, statusMessage) => {
        // 1xx interim responses (103 Early Hints) are not relayed.
        if (statusCode < 200) return;
        if (statusCode >= 500 && this.mayRetry('5xx')) {
          // Only when another backend can take it; otherwise the client gets this 5xx as it is.
          const next = ctx.picker.acquire(this.clientIp, this.tried);
          if (next !== undefined) {
            superseded = true;
            clearTimeout(headerTimer);
            release('server-error');
            controller.abort(new Error(`retrying after ${statusCode}`));
            this.attempt(next);
            return;
          }
        }
        responded = true;
        this.timing.firstByteAt = performance.now();
        status = statusCode;
        clearTimeout(headerTimer);
        if (socket !== undefined) ctx.awaitingBackend.delete(socket);
        let headers = downstreamResponseHeaders(rawHeaderList(controller));
        if (ctx.tap !== undefined && !ctx.tap.head(statusCode, statusMessage ?? '', headers)) {
          // The tap answered the client itself (a 304 that refreshed a cached entry).
          body = { write: () => true, end: () => undefined, abort: () => undefined };
          return;
        }
        if (ctx.policy !== undefined) headers = applyPolicy(headers, ctx.policy);
        const sizeHint = contentLength(headers);
        const coding =
          ctx.compression === undefined
            ? undefined
            : planCompression(ctx.compression, { method: req.method ?? 'GET', acceptEncoding: acceptEncoding(req) }, statusCode, headers);
        if (ctx.draining() && isH1(res)) headers.push('Connection', 'close');
        try {
          writeHead(res, statusCode, statusMessage, headers);
        } catch (err) {
          // Invalid header bytes from the backend: refuse the response rather than relay it.
          responded = false;
          controller.abort(err instanceof Error ? err : new Error(String(err)));
          return;
        }
        body = coding === undefined ? directSink(res, controller) : encodingSink(res, controller, coding, ctx.compression?.level ?? 5, sizeHint);
      },
      onResponseData: (controller, chunk) => {
        if (superseded) return;
        ctx.tap?.data(chunk);
        if (body !== undefined && !body.write(chunk)) controller.pause();
      },
      onResponseEnd: (controller, trailers) => {
        if (superseded) return;
        ctx.tap?.end();
        // An HTTP/2 client gets the backend's trailers (gRPC status); HTTP/1.1 clients never asked for them.
        if (!isH1(res)) {
          const relayed = trailerObject(trailers, controller);
          if (Object.keys(relayed).length > 0) res.addTrailers(relayed);
        }
        body?.end();
        release(status >= 500 ? 'server-error' : 'ok');
      },
      onResponseError: (_controller, err) => {
        if (superseded) return;
        clearTimeout(headerTimer);
        ctx.tap?.abort();
        body?.abort();
        if (socket !== undefined) ctx.awaitingBackend.delete(socket);
        this.onError(err, lease, release, started, responded, socket);
      },
    };
    try {
      ctx.upstreams.get(lease, ctx.proxy).dispatch(
        {
          path: originForm(req.url ?? '/'),
          method: req.method ?? 'GET',
          headers: this.headers,
          body: ctx.body ?? (this.withBody ? req : null),
          headersTimeout: 0,
          bodyTimeout: ctx.timeouts.idleMs,
        },
        handler,
      );
    } catch (err) {
      // undici reports bad arguments through the handler; this is the belt to those braces.
      if (socket !== undefined) ctx.awaitingBackend.delete(socket);
      this.onError(err instanceof Error ? err : new Error(String(err)), lease, release, false, false, socket);
    }
  }

  private onError(
    err: Error,
    lease: BackendLease,
    release: (outcome: LeaseOutcome) => void,
    started: boolean,
    responded: boolean,
    socket: Socket | undefined,
  ): void {
    const { metrics } = this.ctx;
    const name = `backend "${lease.backend}" (${lease.host}:${lease.port})`;
    const code = errorCode(err);
    if (!started) {
      release('connect-failure');
      metrics.backendConnectFailuresTotal.inc({ pool: lease.pool, backend: lease.backend });
      if (this.clientGone) return;
      const timedOut = err instanceof LbError && err.code === 'LB_ERR_CONNECT_TIMEOUT';
      this.lastError = timedOut
        ? new LbError('LB_ERR_CONNECT_TIMEOUT', `connect to ${name} timed out`, { cause: err })
        : new LbError('LB_ERR_CONNECT_FAILED', `connect to ${name} failed: ${code}`, { cause: err });
      // Nothing reached the backend, so any method (and an unread body) can go elsewhere.
      if (this.mayRetry('connect-failure')) this.attempt();
      else this.fail(this.lastError);
      return;
    }
    if (this.clientGone || this.req.errored !== null || socket?.destroyed === true) {
      // The client left (or its upload broke); not the backend's fault.
      release('ok');
      this.res.destroy();
      return;
    }
    release('server-error');
    if (responded) {
      // Headers already went out: the only honest signal left is cutting the connection.
      const kind = code === 'UND_ERR_BODY_TIMEOUT' ? 'response_timeout' : 'backend_reset';
      metrics.proxyErrorsTotal.inc({ listener: this.ctx.listener, pool: lease.pool, kind });
      this.ctx.logger.warn({ pool: lease.pool, backend: lease.backend, err: code }, 'backend failed mid-response');
      this.res.destroy();
      return;
    }
    if (err instanceof LbError && err.code === 'LB_ERR_RESPONSE_TIMEOUT') {
      // The request may be executing on the backend: repeated only when the route asks for it.
      this.lastError = err;
      if (this.mayRetry('timeout')) this.attempt();
      else this.fail(err);
      return;
    }
    const what = SOCKET_ENDED.has(code) ? 'closed the connection' : 'sent an invalid response';
    this.lastError = new LbError('LB_ERR_BACKEND_RESET', `${name} ${what}: ${code}`, { cause: err });
    // Bytes were sent: only a replayable request of a repeatable method goes elsewhere.
    if (this.mayRetry('reset')) this.attempt();
    else this.fail(this.lastError);
  }

  private fail(err: LbError): void {
    this.ctx.tap?.abort();
    const kind = kindFor(err.code);
    if (kind !== undefined) {
      this.ctx.metrics.proxyErrorsTotal.inc({ listener: this.ctx.listener, pool: this.ctx.picker.name, kind });
    }
    this.ctx.logger.debug({ code: err.code, url: this.req.url }, err.message);
    if (this.ctx.draining() && !this.res.headersSent) this.res.setHeader('Connection', 'close');
    sendLocalReply(this.res, err);
  }
}

/**
 * The backend's trailers. Over h2, undici 7.30 hands its new-API handlers node's trailer object
 * as "raw" trailers and parses that as a flat list, so `trailers` comes out empty: read the object.
 */
function trailerObject(trailers: Record<string, string | string[] | undefined>, controller: Dispatcher.DispatchController): Record<string, string | string[]> {
  const raw = (controller as { rawTrailers?: unknown }).rawTrailers;
  const source: Record<string, unknown> = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : trailers;
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(source)) {
    if (name.startsWith(':')) continue;
    if (typeof value === 'string' || (Array.isArray(value) && value.every((v) => typeof v === 'string'))) out[name] = value;
  }
  return out;
}

function acceptEncoding(req: ClientRequest): string | undefined {
  const v = req.headers['accept-encoding'];
  return Array.isArray(v) ? v.join(', ') : v;
}

/** Where the response body goes: straight to the client, or through an encoder first. */
interface BodySink {
  /** false: the writer is full; the sink resumes the backend once it drains. */
  write(chunk: Buffer): boolean;
  end(): void;
  /** The backend failed mid-body: drop what is buffered. */
  abort(): void;
}

function directSink(res: ClientResponse, controller: Dispatcher.DispatchController): BodySink {
  res.on('drain', () => controller.resume());
  return {
    write: (chunk) => writeBody(res, chunk),
    end: () => res.end(),
    abort: () => undefined,
  };
}

/**
 * Backend chunks through zlib to the client, streaming: backpressure runs from the client back
 * through the encoder to the backend, and a body that pauses is flushed so streams keep moving.
 */
function encodingSink(
  res: ClientResponse,
  controller: Dispatcher.DispatchController,
  coding: Coding,
  level: number,
  sizeHint: number | undefined,
): BodySink {
  const encoder = createEncoder(coding, level, sizeHint);
  const out = res;
  const flush = setTimeout(() => encoder.flush(), ENCODER_FLUSH_MS);
  flush.unref();
  encoder.on('data', (chunk: Buffer) => {
    if (!writeBody(out, chunk)) encoder.pause();
  });
  out.on('drain', () => encoder.resume());
  encoder.on('drain', () => controller.resume());
  encoder.once('end', () => {
    clearTimeout(flush);
    out.end();
  });
  encoder.once('error', () => {
    clearTimeout(flush);
    out.destroy();
  });
  out.once('close', () => {
    clearTimeout(flush);
    if (!encoder.writableEnded) encoder.destroy();
  });
  return {
    write: (chunk) => {
      flush.refresh();
      return encoder.write(chunk);
    },
    end: () => encoder.end(),
    abort: () => {
      clearTimeout(flush);
      encoder.destroy();
    },
  };
}
