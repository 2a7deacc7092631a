// Upgrade tunnels (WebSocket and friends): raw TCP to a backend, request head forwarded, bytes piped.
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { LbError } from '../errors.js';
import type { DataPlaneMetrics } from '../metrics.js';
import type { BackendLease, LeaseOutcome, PoolPicker } from '../types.js';
import { kindFor, rawReply, statusFor } from './local-reply.js';
import { originForm } from './router.js';
import type { FlatHeaders, HttpTimeouts } from './types.js';
import { dialBackendSocket, type BackendTls } from './upstream-pools.js';

export interface TunnelContext {
  listener: string;
  picker: PoolPicker;
  timeouts: HttpTimeouts;
  retries: number;
  metrics: DataPlaneMetrics;
  logger: Logger;
  /** Backend sockets of open tunnels, so destroy() can reach them. */
  upstreamSockets: Set<Socket>;
  /** TLS to the backend (backendTls), or undefined for plain TCP. */
  backendTls: BackendTls | undefined;
  /** sendProxy: written first on the backend connection. */
  proxyHeader?: Buffer | undefined;
  /** Called once when the tunnel's outcome is known: status relayed or replied, backend reached. */
  onResult(status: number, backend: string): void;
}

const STATUS_LINE = /^HTTP\/\d\.\d (\d{3})/;

function requestHead(req: IncomingMessage, headers: FlatHeaders): string {
  let head = `${req.method ?? 'GET'} ${originForm(req.url ?? '/')} HTTP/1.1\r\n`;
  for (let i = 0; i + 1 < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return `${head}\r\n`;
}

export class Tunnel {
  private readonly tried = new Set<string>();
  private attempts = 0;
  private lastError: LbError | undefined;
  private settled = false;

  constructor(
    private readonly req: IncomingMessage,
    private readonly client: Socket,
    private readonly head: Buffer,
    private readonly headers: FlatHeaders,
    private readonly clientIp: string,
    private readonly ctx: TunnelContext,
  ) {
    // Node detaches its parser on upgrade; bytes arriving before the backend is connected
    // must wait in the socket rather than flow to no listener.
    client.pause();
    client.on('error', () => client.destroy());
  }

  start(): void {
    this.attempt();
  }

  private attempt(): void {
    if (this.client.destroyed) return;
    const lease = this.ctx.picker.acquire(this.clientIp, this.tried);
    if (lease === undefined) {
      const name = this.ctx.picker.name;
      this.reply(this.lastError ?? new LbError('LB_ERR_NO_BACKEND', `no healthy backend in pool "${name}"`), '');
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
    this.connect(lease, release);
  }

  private connect(lease: BackendLease, release: (outcome: LeaseOutcome) => void): void {
    const { ctx, client } = this;
    const name = `backend "${lease.backend}" (${lease.host}:${lease.port})`;
    let dialed: ReturnType<typeof dialBackendSocket>;
    try {
      dialed = dialBackendSocket(lease.host, lease.port, ctx.backendTls, ctx.proxyHeader);
    } catch (err) {
      release('connect-failure');
      this.lastError = new LbError('LB_ERR_CONNECT_FAILED', `connect to ${name} failed: ${(err as Error).message}`);
      this.reply(this.lastError, '');
      return;
    }
    const upstream = dialed.socket;
    ctx.upstreamSockets.add(upstream);
    let connected = false;
    let status = 0;
    let timedOut = false;
    let refused: string | undefined;
    const connectTimer = setTimeout(() => {
      timedOut = true;
      upstream.destroy();
    }, ctx.timeouts.connectMs);
    let headerTimer: NodeJS.Timeout | undefined;

    upstream.on('error', (err: NodeJS.ErrnoException) => {
      if (!connected) refused = err.code ?? err.message;
      upstream.destroy();
    });
    upstream.once('close', () => {
      clearTimeout(connectTimer);
      clearTimeout(headerTimer);
      ctx.upstreamSockets.delete(upstream);
      if (!connected && !timedOut && refused === undefined) {
        // The client left while we were connecting.
        release('ok');
        return;
      }
      if (!connected) {
        release('connect-failure');
        ctx.metrics.backendConnectFailuresTotal.inc(leaseLabels(lease));
        this.lastError = timedOut
          ? new LbError('LB_ERR_CONNECT_TIMEOUT', `connect to ${name} timed out`)
          : new LbError('LB_ERR_CONNECT_FAILED', `connect to ${name} failed: ${refused ?? 'closed'}`);
        if (this.attempts <= ctx.retries) this.attempt();
        else this.reply(this.lastError, '');
        return;
      }
      release(status >= 500 || status === 0 ? 'server-error' : 'ok');
      if (status === 0 && !this.settled) {
        this.reply(new LbError('LB_ERR_BACKEND_RESET', `${name} closed the connection before responding`), lease.backend);
        return;
      }
      // Flush what is already queued for the client, then let it go.
      client.end();
    });

    upstream.once(dialed.ready, () => {
      clearTimeout(connectTimer);
      if (client.destroyed) {
        upstream.destroy();
        return;
      }
      connected = true;
      upstream.write(requestHead(this.req, this.headers));
      if (this.head.length > 0) upstream.write(this.head);
      headerTimer = setTimeout(() => {
        this.reply(
          new LbError('LB_ERR_RESPONSE_TIMEOUT', `${name} sent no response within ${ctx.timeouts.responseHeaderMs} ms`),
          lease.backend,
        );
        upstream.destroy();
      }, ctx.timeouts.responseHeaderMs);
      upstream.once('data', (first: Buffer) => {
        clearTimeout(headerTimer);
        upstream.pause();
        const match = STATUS_LINE.exec(first.toString('latin1', 0, Math.min(first.length, 32)));
        status = match?.[1] === undefined ? 502 : Number(match[1]);
        this.settle(status, lease.backend);
        client.write(first);
        upstream.pipe(client, { end: false });
        upstream.resume();
      });
      client.pipe(upstream);
      client.resume();
      client.setTimeout(ctx.timeouts.idleMs, () => client.destroy());
      upstream.setTimeout(ctx.timeouts.idleMs, () => upstream.destroy());
    });
    client.once('close', () => upstream.destroy());
  }

  private settle(status: number, backend: string): void {
    if (this.settled) return;
    this.settled = true;
    this.ctx.onResult(status, backend);
  }

  /** Balancer-decided failure on the raw socket: plain-text reply, then close. */
  private reply(err: LbError, backend: string): void {
    if (this.settled) return;
    const status = statusFor(err.code);
    const kind = kindFor(err.code);
    if (kind !== undefined) {
      this.ctx.metrics.proxyErrorsTotal.inc({ listener: this.ctx.listener, pool: this.ctx.picker.name, kind });
    }
    this.settle(status, backend);
    if (!this.client.destroyed) this.client.end(rawReply(status, STATUS_CODES[status] ?? 'Error', err.message));
  }
}

function leaseLabels(lease: BackendLease): { pool: string; backend: string } {
  return { pool: lease.pool, backend: lease.backend };
}
