// The plain-HTTP companion of a TLS listener (tls.redirectHttp): every request gets a 301 to the
// same host and path over https, on the TLS listener's port.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { LbError } from '../errors.js';
import type { HostPort } from '../types.js';
import { normalizeHost, originForm } from './router.js';

/** A Host we put into Location must be a plain name or address, nothing that could split headers. */
const SAFE_HOST = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)$/;

export class HttpsRedirect {
  private readonly server: Server;

  constructor(
    private readonly bind: HostPort,
    /** The TLS listener's port, read per request (port 0 in tests binds late). */
    private readonly httpsPort: () => number,
    private readonly logger: Logger,
  ) {
    this.server = createServer({ headersTimeout: 10_000, requestTimeout: 30_000 }, (req, res) => this.redirect(req, res));
    this.server.keepAliveTimeout = 5_000;
  }

  start(listener: string): Promise<void> {
    const { host, port } = this.bind;
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void =>
        reject(new LbError('LB_ERR_LISTEN_FAILED', `listener "${listener}": redirect cannot listen on ${host}:${port}: ${err.message}`, { cause: err }));
      this.server.once('error', onError);
      this.server.listen({ host, port }, () => {
        this.server.off('error', onError);
        this.server.on('error', (err) => this.logger.error({ err, listener }, 'redirect listener error'));
        resolve();
      });
    });
  }

  port(): number {
    const a = this.server.address();
    return typeof a === 'object' && a !== null ? a.port : 0;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) resolve();
      else this.server.close(() => resolve());
    });
  }

  destroy(): void {
    this.server.closeAllConnections();
    if (this.server.listening) this.server.close();
  }

  private redirect(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    const host = normalizeHost(req.headers.host);
    if (host === '' || !SAFE_HOST.test(host)) {
      res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' });
      res.end('a Host header naming the site is required');
      return;
    }
    const port = this.httpsPort();
    const location = `https://${host}${port === 443 || port === 0 ? '' : `:${port}`}${originForm(req.url ?? '/')}`;
    res.writeHead(301, { Location: location, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': 0 });
    res.end();
  }
}
