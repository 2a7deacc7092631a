// One client request's trip to a backend: pick, dispatch, stream both ways, retry, fail cleanly.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import { LbError } from '../errors.js';
import type { DataPlaneMetrics } from '../metrics.js';
import type { BackendLease, LeaseOutcome, PoolPicker } from '../types.js';
import { downstreamResponseHeaders } from './header-rewrite.js';
import { kindFor, sendLocalReply } from './local-reply.js';
import { originForm } from './router.js';
import type { FlatHeaders, HttpTimeouts } from './types.js';
import type { UpstreamPools } from './upstream-pools.js';

/** RFC 9110 9.2.2: a repeat has the same effect, so a reset before any response may be retried. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/** Error codes meaning the backend's socket ended under the request (vs. a malformed response). */
const SOCKET_ENDED = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE', 'UND_ERR_CLOSED']);

export interface ExchangeContext {
  listener: string;
  picker: PoolPicker;
  upstreams: UpstreamPools;
  timeouts: HttpTimeouts;
  /** Other backends to try when one cannot be reached. */
  retries: number;
  metrics: DataPlaneMetrics;
  logger: Logger;
  /** Client sockets whose request waits for backend headers, and that request (idle guard). */
  awaitingBackend: WeakMap<Socket, IncomingMessage>;
  /** True once the listener drains: responses then say Connection: close. */
  draining(): boolean;
}

/** Whether the request carries a body (RFC 9112 6.3): framing headers, not the method, decide. */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return length !== '0';
  return req.headers['transfer-encoding'] !== undefined;
}

function errorCode(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  return typeof code === 'string' ? code : err.name;
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
  private readonly tried = new Set<string>();
  private readonly withBody: boolean;
  private attempts = 0;
  private lastError: LbError | undefined;
  private controller: Dispatcher.DispatchController | undefined;
  private clientGone = false;

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly headers: FlatHeaders,
    private readonly clientIp: string,
    private readonly ctx: ExchangeContext,
  ) {
    this.withBody = hasBody(req);
    res.once('close', () => {
      if (res.writableFinished) return;
      this.clientGone = true;
      this.controller?.abort(new Error('client closed the connection'));
    });
  }

  start(): void {
    this.attempt();
  }

  private attempt(): void {
    const { picker } = this.ctx;
    const lease = picker.acquire(this.clientIp, this.tried);
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
    const socket = req.socket;
    let started = false;
    let responded = false;
    let status = 0;
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
    ctx.awaitingBackend.set(socket, req);
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart: (controller) => {
        started = true;
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
        responded = true;
        status = statusCode;
        clearTimeout(headerTimer);
        ctx.awaitingBackend.delete(socket);
        const headers = downstreamResponseHeaders(rawHeaderList(controller));
        if (ctx.draining()) headers.push('Connection', 'close');
        try {
          if (statusMessage === undefined || statusMessage === '') res.writeHead(statusCode, headers);
          else res.writeHead(statusCode, statusMessage, headers);
        } catch (err) {
          // Invalid header bytes from the backend: refuse the response rather than relay it.
          responded = false;
          controller.abort(err instanceof Error ? err : new Error(String(err)));
          return;
        }
        res.on('drain', () => controller.resume());
      },
      onResponseData: (controller, chunk) => {
        if (!res.write(chunk)) controller.pause();
      },
      onResponseEnd: () => {
        res.end();
        release(status >= 500 ? 'server-error' : 'ok');
      },
      onResponseError: (_controller, err) => {
        clearTimeout(headerTimer);
        ctx.awaitingBackend.delete(socket);
        this.onError(err, lease, release, started, responded, socket);
      },
    };
    try {
      ctx.upstreams.get(lease).dispatch(
        {
          path: originForm(req.url ?? '/'),
          method: req.method ?? 'GET',
          headers: this.headers,
          body: this.withBody ? req : null,
          headersTimeout: 0,
          bodyTimeout: ctx.timeouts.idleMs,
        },
        handler,
      );
    } catch (err) {
      // undici reports bad arguments through the handler; this is the belt to those braces.
      ctx.awaitingBackend.delete(socket);
      this.onError(err instanceof Error ? err : new Error(String(err)), lease, release, false, false, socket);
    }
  }

  private onError(
    err: Error,
    lease: BackendLease,
    release: (outcome: LeaseOutcome) => void,
    started: boolean,
    responded: boolean,
    socket: Socket,
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
      if (this.attempts <= this.ctx.retries) this.attempt();
      else this.fail(this.lastError);
      return;
    }
    if (this.clientGone || this.req.errored !== null || socket.destroyed) {
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
      // The request may be executing on the backend: never repeated, whatever the method.
      this.fail(err);
      return;
    }
    const what = SOCKET_ENDED.has(code) ? 'closed the connection' : 'sent an invalid response';
    this.lastError = new LbError('LB_ERR_BACKEND_RESET', `${name} ${what}: ${code}`, { cause: err });
    // Bytes were sent: only a bodiless idempotent request is safe to repeat elsewhere.
    const repeatable = !this.withBody && IDEMPOTENT.has(this.req.method ?? '');
    if (repeatable && this.attempts <= this.ctx.retries) this.attempt();
    else this.fail(this.lastError);
  }

  private fail(err: LbError): void {
    const kind = kindFor(err.code);
    if (kind !== undefined) {
      this.ctx.metrics.proxyErrorsTotal.inc({ listener: this.ctx.listener, pool: this.ctx.picker.name, kind });
    }
    this.ctx.logger.debug({ code: err.code, url: this.req.url }, err.message);
    if (this.ctx.draining() && !this.res.headersSent) this.res.setHeader('Connection', 'close');
    sendLocalReply(this.res, err);
  }
}
