// The real Transport: a net-ipc TLS-PSK server for inbound messages and one PeerLink per peer for
// outbound ones. Every connection is authenticated by the PSK derived from the cluster secret and
// the dialer's node id; a wrong secret fails the handshake and is logged and counted here.
import { Server } from 'net-ipc';
import type { Connection } from 'net-ipc';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { NodeId } from '../raft/types.js';
import { Backoff } from './backoff.js';
import { TransportError } from './errors.js';
import { PeerLink } from './peer-link.js';
import type { HelloPayload } from './peer-link.js';
import { reserveFreePort } from './port-reservation.js';
import { PSK_TLS_SETTINGS, derivePskRoot, pskFor } from './psk.js';
import type { ListenAddress, MessageHandler, NetIpcTransportOptions, PeerAddress, Transport, TransportStats } from './types.js';
import { decodeWire, encodeWire } from './wire-codec.js';
import type { WireValue } from './wire-codec.js';

const DEFAULTS = {
  queueLimit: 1024,
  initialBackoffMs: 100,
  maxBackoffMs: 5000,
  connectTimeoutMs: 5000,
  maxBufferedBytes: 1024 * 1024,
  stallTimeoutMs: 10_000,
};

/** What travels inside net-ipc's JSON frame, { v: 1, m: encoded message }; `v` lets a later format coexist during an upgrade. */
interface Envelope {
  v: 1;
  m: unknown;
}

function isHello(payload: unknown): payload is HelloPayload {
  return typeof payload === 'object' && payload !== null && typeof (payload as HelloPayload).from === 'string';
}

export class NetIpcTransport<M extends object> implements Transport<M> {
  readonly #o: NetIpcTransportOptions;
  readonly #log: Logger;
  readonly #links = new Map<NodeId, PeerLink>();
  /** PSK identity each inbound TLS socket presented, recorded by the PSK callback. */
  readonly #identities = new WeakMap<TLSSocket, string>();
  readonly #peerOf = new WeakMap<Connection, NodeId>();
  readonly #rawSockets = new Set<Socket>();
  #peers: PeerAddress[];
  #handler: MessageHandler<M> | null = null;
  #server: Server | null = null;
  #root: Buffer | null = null;
  #listen: ListenAddress;
  #started = false;
  #received = 0;
  #refused = 0;
  #unknownPeerDrops = 0;

  constructor(options: NetIpcTransportOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'transport', node: options.id });
    this.#peers = options.peers.filter((p) => p.id !== options.id);
    this.#listen = { ...options.listen };
  }

  /** The address actually listened on (the chosen port when 0 was asked for). */
  address(): ListenAddress {
    return { ...this.#listen };
  }

  onMessage(handler: MessageHandler<M>): void {
    this.#handler = handler;
  }

  send(to: NodeId, message: M): void {
    const link = this.#links.get(to);
    const envelope: WireValue = { v: 1, m: encodeWire(message) };
    if (!link) {
      this.#unknownPeerDrops++;
      this.#log.debug({ to }, 'transport: dropping message for unknown peer');
      return;
    }
    link.enqueue(envelope);
  }

  stats(): TransportStats {
    return {
      peers: [...this.#links.values()].map((l) => l.stats()),
      received: this.#received,
      refused: this.#refused,
      unknownPeerDrops: this.#unknownPeerDrops,
    };
  }

  async start(): Promise<void> {
    if (this.#started) return;
    this.#root = await derivePskRoot(this.#o.secret);
    await this.#startServer();
    this.#started = true;
    for (const peer of this.#peers) this.#addLink(peer);
    this.#log.info({ listen: `${this.#listen.host}:${this.#listen.port}`, peers: this.#peers.map((p) => p.id) }, 'transport: started');
  }

  /** Replaces the peer set (membership change): new peers are dialed, removed ones closed. */
  async setPeers(peers: readonly PeerAddress[]): Promise<void> {
    const next = peers.filter((p) => p.id !== this.#o.id);
    this.#peers = next;
    if (!this.#started) return;
    const wanted = new Map(next.map((p) => [p.id, p]));
    const stops: Promise<void>[] = [];
    for (const [id, link] of this.#links) {
      const p = wanted.get(id);
      if (!p || `${p.host}:${p.port}` !== link.address) {
        this.#links.delete(id);
        stops.push(link.stop());
      }
    }
    await Promise.all(stops);
    for (const p of next) if (!this.#links.has(p.id)) this.#addLink(p);
  }

  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    const links = [...this.#links.values()];
    this.#links.clear();
    await Promise.all(links.map((l) => l.stop()));
    const server = this.#server;
    this.#server = null;
    if (server) {
      const tlsServer = server.server;
      const closed = new Promise<void>((resolve) => tlsServer.once('close', () => resolve()));
      tlsServer.close();
      // Destroy rather than net-ipc's graceful close: it waits on write drains that a dead peer never gives.
      for (const s of this.#rawSockets) s.destroy();
      this.#rawSockets.clear();
      await closed;
    }
    this.#log.info('transport: stopped');
  }

  #addLink(peer: PeerAddress): void {
    const o = this.#o;
    const link = new PeerLink({
      self: o.id,
      peer,
      psk: pskFor(this.#root as Buffer, o.id),
      logger: this.#log,
      queueLimit: o.queueLimit ?? DEFAULTS.queueLimit,
      backoff: new Backoff(o.backoff?.initialMs ?? DEFAULTS.initialBackoffMs, o.backoff?.maxMs ?? DEFAULTS.maxBackoffMs, o.random ?? Math.random),
      connectTimeoutMs: o.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
      maxBufferedBytes: o.maxBufferedBytes ?? DEFAULTS.maxBufferedBytes,
      stallTimeoutMs: o.stallTimeoutMs ?? DEFAULTS.stallTimeoutMs,
    });
    this.#links.set(peer.id, link);
    link.start();
  }

  #pskForIdentity(socket: TLSSocket, identity: string): Buffer | null {
    this.#identities.set(socket, identity);
    // Only current members may connect; returning null makes OpenSSL fail the handshake.
    if (!this.#peers.some((p) => p.id === identity)) return null;
    return pskFor(this.#root as Buffer, identity);
  }

  async #startServer(): Promise<void> {
    if (this.#listen.port === 0) this.#listen.port = await reserveFreePort(this.#listen.host);
    const server = new Server({
      port: this.#listen.port,
      tls: true,
      listenOptions: { host: this.#listen.host },
      options: {
        ...PSK_TLS_SETTINGS,
        handshakeTimeout: this.#o.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
        pskCallback: (socket: TLSSocket, identity: string) => this.#pskForIdentity(socket, identity),
      },
    });
    let failStart: ((err: unknown) => void) | null = null;
    server.on('error', (err: unknown, conn?: Connection) => {
      if (failStart) {
        failStart(err);
        return;
      }
      this.#log.debug({ err, peer: conn ? this.#peerOf.get(conn) : undefined }, 'transport: inbound connection error');
    });
    server.on('connect', (conn: Connection, payload?: unknown) => this.#onInbound(conn, payload));
    server.on('message', (message: unknown, conn: Connection) => this.#onMessage(message, conn));
    try {
      await new Promise<void>((resolve, reject) => {
        failStart = reject;
        server.start().then(() => resolve(), reject);
      });
    } catch (err) {
      server.server?.close();
      throw new TransportError('TRANSPORT_ERR_LISTEN', `cannot listen on ${this.#listen.host}:${this.#listen.port}: ${(err as Error).message}`, { cause: err });
    } finally {
      failStart = null;
    }
    const tlsServer = server.server;
    tlsServer.on('connection', (socket: Socket) => {
      this.#rawSockets.add(socket);
      socket.once('close', () => this.#rawSockets.delete(socket));
    });
    tlsServer.on('tlsClientError', (err: NodeJS.ErrnoException, socket: TLSSocket) => {
      this.#refused++;
      // Node reports a handshake timeout here but leaves the socket open (seen on Node 20): anyone
      // who connects and stays silent would hold a descriptor for good.
      socket.destroy();
      const identity = this.#identities.get(socket) ?? null;
      const known = identity !== null && this.#peers.some((p) => p.id === identity);
      const remote = `${socket.remoteAddress}:${socket.remotePort}`;
      if (err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT') {
        const timeoutMs = this.#o.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs;
        this.#log.warn({ remote, identity, code: err.code }, `transport: dropped an inbound connection: no TLS handshake within ${timeoutMs} ms (a stalled peer, or not a peer at all; see cluster.peerConnectTimeout)`);
        return;
      }
      this.#log.warn(
        { remote, identity, code: err.code },
        known || identity === null
          ? 'transport: refused peer connection: TLS-PSK handshake failed (wrong cluster secret?)'
          : 'transport: refused peer connection: unknown node identity',
      );
    });
    this.#server = server;
  }

  #onInbound(conn: Connection, payload: unknown): void {
    const identity = this.#identities.get(conn.connection as TLSSocket);
    if (identity === undefined || !isHello(payload) || payload.from !== identity) {
      this.#refused++;
      this.#log.warn({ identity, claimed: isHello(payload) ? payload.from : null }, 'transport: refused peer connection: hello does not match PSK identity');
      conn.destroy('identity mismatch');
      return;
    }
    this.#peerOf.set(conn, identity);
    this.#log.debug({ peer: identity }, 'transport: inbound connection from peer');
  }

  #onMessage(raw: unknown, conn: Connection): void {
    const from = this.#peerOf.get(conn);
    if (from === undefined) return;
    let message: M;
    try {
      const env = raw as Envelope;
      if (typeof env !== 'object' || env === null || env.v !== 1) throw new TransportError('TRANSPORT_ERR_DECODE', 'not a v1 envelope');
      message = decodeWire(env.m) as M;
      if (typeof message !== 'object' || message === null) throw new TransportError('TRANSPORT_ERR_DECODE', 'message is not an object');
    } catch (err) {
      this.#log.warn({ err, peer: from }, 'transport: dropping undecodable message');
      return;
    }
    this.#received++;
    if (!this.#handler) return;
    try {
      this.#handler(from, message);
    } catch (err) {
      this.#log.error({ err, peer: from }, 'transport: message handler threw');
    }
  }
}
