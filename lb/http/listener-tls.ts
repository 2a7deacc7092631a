// ListenerTls: the TLS side of an HTTP listener: its certificates, session-ticket keys, HTTP/2
// front, HTTP -> HTTPS redirect companion, OCSP staples, and the ALPN split of new TLS sockets.
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Server as HttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { ListenerCertificates } from '../tls/listener-certificates.js';
import { OcspStapler } from '../tls/ocsp-stapler.js';
import { TicketKeyRotation } from '../tls/ticket-keys.js';
import type { ListenerSpec, ListenerTlsSpec } from '../types.js';
import { H2Front } from './h2-front.js';
import { HttpsRedirect } from './redirect-server.js';
import type { HttpListenerDeps } from './types.js';

export interface ListenerTlsDeps {
  tls: HttpListenerDeps['tls'];
  logger: Logger;
  /** Where HTTP/2 streams go: the listener's request handler, like any HTTP/1.1 request. */
  onRequest: (req: Http2ServerRequest, res: Http2ServerResponse) => void;
  /** The listener's bound port, for the redirect companion's Location. */
  port: () => number;
}

/** What the SecureContexts are built from; http2 and redirectHttp changes recreate the listener instead. */
export function contextKey(tls: ListenerTlsSpec | undefined): string {
  return JSON.stringify(tls === undefined ? null : [tls.certificates, tls.minVersion, tls.ciphers ?? null]);
}

export class ListenerTls {
  readonly certificates: ListenerCertificates;
  readonly tickets: TicketKeyRotation;
  readonly h2: H2Front | undefined;
  readonly redirect: HttpsRedirect | undefined;
  readonly ocsp: OcspStapler;
  private keys: Buffer | undefined;
  private server: HttpsServer | undefined;
  private readonly unwatchSeed: () => void;

  constructor(spec: ListenerSpec, tls: ListenerTlsSpec, deps: ListenerTlsDeps) {
    const tlsDeps = deps.tls;
    if (tlsDeps === undefined) throw new Error(`listener "${spec.name}" has tls but the engine was given no TLS material`);
    this.certificates = new ListenerCertificates(tls, {
      listener: spec.name,
      material: tlsDeps.material,
      expiry: tlsDeps.expiry,
      logger: deps.logger,
    });
    this.tickets = new TicketKeyRotation(tlsDeps.material.ticketSeed(), spec.name, (keys) => {
      this.keys = keys;
      this.server?.setTicketKeys(keys);
    });
    this.h2 = tls.http2
      ? new H2Front({
          maxHeaderBytes: spec.maxHeaderBytes,
          idleMs: spec.timeouts.idleMs,
          logger: deps.logger,
          onRequest: deps.onRequest,
        })
      : undefined;
    this.ocsp = new OcspStapler({ logger: deps.logger, listener: spec.name });
    this.redirect = tls.redirectHttp === undefined ? undefined : new HttpsRedirect(tls.redirectHttp, deps.port, deps.logger);
    this.unwatchSeed = tlsDeps.material.watch((_changed, seedChanged) => {
      if (seedChanged) this.tickets.setSeed(tlsDeps.material.ticketSeed());
    });
    this.certificates.onSwap = () => {
      this.ocsp.reset();
      // The default context serves clients that send no SNI; replacing it affects new handshakes only.
      if (this.server === undefined) return;
      this.server.setSecureContext(this.certificates.defaultContextOptions());
      if (this.keys !== undefined) this.server.setTicketKeys(this.keys);
    };
  }

  /**
   * Take over the server's TLS sockets after the handshake: "h2" ones go to the HTTP/2 front, the
   * rest to node's HTTP/1.1 handler; `onSecure` sees every one first.
   */
  attach(server: HttpsServer, onSecure: (socket: TLSSocket) => void): void {
    this.server = server;
    const http1 = server.listeners('secureConnection')[0] as ((socket: TLSSocket) => void) | undefined;
    if (http1 === undefined) throw new Error('node:https no longer attaches its connection handler to secureConnection');
    server.removeAllListeners('secureConnection');
    // node sends no staple when the callback gets null; its typings only allow a Buffer.
    server.on('OCSPRequest', (cert: Buffer, issuer: Buffer | null, done: (err: Error | null, resp: Buffer) => void) =>
      this.ocsp.handle(cert, issuer, (err, resp) => done(err, resp as Buffer)),
    );
    server.on('secureConnection', (socket: TLSSocket) => {
      onSecure(socket);
      if (socket.alpnProtocol === 'h2' && this.h2 !== undefined) {
        this.h2.accept(socket);
        return;
      }
      http1.call(server, socket);
    });
  }

  stop(): void {
    this.ocsp.close();
    this.tickets.stop();
    this.certificates.close();
    this.unwatchSeed();
  }
}
