// The outbound half of one peer pair: a net-ipc client that dials the peer, redials with backoff,
// and drains a bounded queue only as fast as the socket takes it, so a slow or dead peer costs the
// others nothing. net-ipc's own reconnect (linear, gives up) is off; this owns the lifecycle.
import { Client } from 'net-ipc';
import type { Logger } from 'pino';
import type { NodeId } from '../raft/types.js';
import type { Backoff } from './backoff.js';
import { BoundedQueue } from './bounded-queue.js';
import { PSK_TLS_SETTINGS } from './psk.js';
import type { PeerAddress, PeerLinkStats } from './types.js';
import type { WireValue } from './wire-codec.js';

export interface PeerLinkConfig {
  self: NodeId;
  peer: PeerAddress;
  psk: Buffer;
  logger: Logger;
  queueLimit: number;
  backoff: Backoff;
  connectTimeoutMs: number;
  maxBufferedBytes: number;
  stallTimeoutMs: number;
}

/** What the link sends once connected, so the server can bind the connection to our PSK identity. */
export interface HelloPayload {
  from: NodeId;
}

export class PeerLink {
  readonly #c: PeerLinkConfig;
  readonly #queue: BoundedQueue<WireValue>;
  readonly #log: Logger;
  #client: Client | null = null;
  #ready = false;
  #stopped = true;
  #redial: NodeJS.Timeout | null = null;
  #connectTimer: NodeJS.Timeout | null = null;
  #stallTimer: NodeJS.Timeout | null = null;
  #closed: (() => void) | null = null;
  #sent = 0;
  #dropped = 0;
  #failures = 0;
  #lastError: string | null = null;

  constructor(config: PeerLinkConfig) {
    this.#c = config;
    this.#queue = new BoundedQueue(config.queueLimit);
    this.#log = config.logger.child({ peer: config.peer.id });
  }

  get address(): string {
    return `${this.#c.peer.host}:${this.#c.peer.port}`;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#dial();
  }

  enqueue(message: WireValue): void {
    if (this.#queue.push(message)) this.#dropped++;
    this.#flush();
  }

  stats(): PeerLinkStats {
    return {
      id: this.#c.peer.id,
      address: this.address,
      connected: this.#ready,
      queued: this.#queue.length,
      sent: this.#sent,
      dropped: this.#dropped,
      failures: this.#failures,
      lastError: this.#lastError,
    };
  }

  /** Tears the connection down at once; resolves when its socket has closed. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#clearTimers();
    this.#queue.clear();
    const client = this.#client;
    if (!client) return;
    const closed = new Promise<void>((resolve) => {
      this.#closed = resolve;
    });
    client.destroy();
    await closed;
  }

  #dial(): void {
    const { peer, self, psk } = this.#c;
    const client = new Client({
      host: peer.host,
      port: peer.port,
      tls: true,
      reconnect: false,
      options: {
        ...PSK_TLS_SETTINGS,
        pskCallback: () => ({ identity: self, psk }),
        // There is no certificate to check: the PSK handshake itself proves the server knows the secret.
        checkServerIdentity: () => undefined,
      },
    });
    this.#client = client;
    client.on('ready', () => {
      if (this.#connectTimer) clearTimeout(this.#connectTimer);
      this.#connectTimer = null;
      this.#ready = true;
      this.#c.backoff.reset();
      this.#log.info({ address: this.address, queued: this.#queue.length }, 'transport: connected to peer');
      client.connection.on('drain', () => this.#flush());
      this.#flush();
    });
    client.on('error', (err: unknown) => {
      this.#lastError = err instanceof Error ? `${(err as NodeJS.ErrnoException).code ?? err.name}: ${err.message}` : String(err);
    });
    client.on('close', () => this.#onClose(client));
    this.#connectTimer = setTimeout(() => {
      this.#connectTimer = null;
      this.#lastError = `no handshake within ${this.#c.connectTimeoutMs} ms`;
      client.destroy();
    }, this.#c.connectTimeoutMs);
    // net-ipc's connect() promise never settles when reconnect is off and the dial fails; the
    // 'ready' and 'close' events above are the real signals.
    client.connect({ from: self } satisfies HelloPayload).catch(() => undefined);
  }

  #onClose(client: Client): void {
    if (this.#client !== client) return;
    const wasReady = this.#ready;
    this.#client = null;
    this.#ready = false;
    this.#clearTimers();
    if (this.#closed) {
      this.#closed();
      this.#closed = null;
    }
    if (this.#stopped) return;
    this.#failures++;
    const delay = this.#c.backoff.next();
    const detail = { address: this.address, error: this.#lastError, retryInMs: delay, queued: this.#queue.length };
    // Loud on the first failure after a success and on anything that looks like an auth failure
    // (TLS alert); quiet while a down peer keeps refusing, or the log floods.
    if (wasReady || this.#failures === 1 || /SSL|TLS|EPROTO/.test(this.#lastError ?? '')) {
      this.#log.warn(detail, wasReady ? 'transport: lost connection to peer' : 'transport: cannot reach peer');
    } else {
      this.#log.debug(detail, 'transport: peer still unreachable');
    }
    this.#redial = setTimeout(() => {
      this.#redial = null;
      if (!this.#stopped) this.#dial();
    }, delay);
  }

  #flush(): void {
    const client = this.#client;
    if (!client || !this.#ready) return;
    const socket = client.connection;
    while (this.#queue.length > 0 && socket.writableLength < this.#c.maxBufferedBytes) {
      const message = this.#queue.shift() as WireValue;
      // net-ipc writes to the socket synchronously inside send(); the promise only reports
      // write errors, which the socket's close already handles.
      client.send(message).catch(() => undefined);
      this.#sent++;
    }
    if (this.#queue.length > 0) {
      this.#stallTimer ??= setTimeout(() => {
        this.#stallTimer = null;
        if (client.connection && client.connection.writableLength >= this.#c.maxBufferedBytes) {
          this.#lastError = `write buffer full for ${this.#c.stallTimeoutMs} ms`;
          client.destroy();
        }
      }, this.#c.stallTimeoutMs);
    } else if (this.#stallTimer) {
      clearTimeout(this.#stallTimer);
      this.#stallTimer = null;
    }
  }

  #clearTimers(): void {
    for (const t of [this.#redial, this.#connectTimer, this.#stallTimer]) if (t) clearTimeout(t);
    this.#redial = this.#connectTimer = this.#stallTimer = null;
  }
}
