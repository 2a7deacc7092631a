// The HTTP/2 side of a TLS listener: TLS sockets that negotiated "h2" by ALPN become node:http2
// sessions; each stream is one request, handed to the listener like any HTTP/1.1 request, so it
// is routed and balanced on its own. Sessions are closed with GOAWAY on drain.
import { createServer, type Http2Server, type Http2ServerRequest, type Http2ServerResponse, type ServerHttp2Session } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';

/** Concurrent streams a client may open per connection (nginx's default as well). */
const MAX_CONCURRENT_STREAMS = 128;

export interface H2FrontOptions {
  maxHeaderBytes: number;
  idleMs: number;
  logger: Logger;
  onRequest(req: Http2ServerRequest, res: Http2ServerResponse): void;
}

export class H2Front {
  private readonly server: Http2Server;
  private readonly sessions = new Set<ServerHttp2Session>();
  private idleMs: number;
  private closing = false;

  constructor(private readonly opts: H2FrontOptions) {
    this.idleMs = opts.idleMs;
    this.server = createServer({
      settings: { maxConcurrentStreams: MAX_CONCURRENT_STREAMS, maxHeaderListSize: opts.maxHeaderBytes },
      maxSessionMemory: 32,
    });
    this.server.on('request', (req: Http2ServerRequest, res: Http2ServerResponse) => opts.onRequest(req, res));
    this.server.on('session', (session: ServerHttp2Session) => this.onSession(session));
    this.server.on('sessionError', (err: Error) => opts.logger.debug({ err: err.message }, 'http2 session error'));
  }

  /** Take over a TLS socket whose ALPN protocol is h2. */
  accept(socket: TLSSocket): void {
    this.server.emit('connection', socket);
  }

  setLimits(maxHeaderBytes: number, idleMs: number): void {
    this.idleMs = idleMs;
    this.server.updateSettings({ maxHeaderListSize: maxHeaderBytes });
  }

  sessionCount(): number {
    return this.sessions.size;
  }

  /** GOAWAY to every session: streams in flight finish, new ones go to a new connection. */
  close(): void {
    this.closing = true;
    for (const session of this.sessions) session.close();
  }

  destroy(): void {
    this.closing = true;
    for (const session of this.sessions) session.destroy();
    this.sessions.clear();
  }

  private onSession(session: ServerHttp2Session): void {
    this.sessions.add(session);
    session.once('close', () => this.sessions.delete(session));
    session.on('error', (err: Error) => this.opts.logger.debug({ err: err.message }, 'http2 session error'));
    if (this.closing) {
      session.close();
      return;
    }
    // A connection without streams for idleMs is closed gracefully (GOAWAY, streams finish).
    session.setTimeout(this.idleMs, () => session.close());
  }
}
