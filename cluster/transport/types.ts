// Transport contract between Raft peers: fire-and-forget messages keyed by node id, a real
// implementation over net-ipc (TLS-PSK) and an in-memory one for tests.
import type { Logger } from 'pino';
import type { NodeId } from '../raft/types.js';

/**
 * Messages are plain data: objects, arrays, strings, finite numbers, booleans, null and Uint8Array
 * (Raft entries and snapshots). Anything else is refused when sent, so loss is never silent.
 */
export type MessageHandler<M extends object> = (from: NodeId, message: M) => void;

export interface Transport<M extends object> {
  /** Listens and starts dialing peers; resolves once listening. */
  start(): Promise<void>;
  /** Closes the listener and every connection, cancels reconnects; queued messages are discarded. */
  stop(): Promise<void>;
  /**
   * Queues `message` for `to` and returns at once. Delivery is best effort (Raft retries): a full
   * queue drops its oldest message, an unknown peer drops the message; both are counted.
   * Throws TransportError TRANSPORT_ERR_ENCODE if the message holds something that is not plain data.
   */
  send(to: NodeId, message: M): void;
  /** Sets the single handler for incoming messages; `from` is the peer's authenticated id. */
  onMessage(handler: MessageHandler<M>): void;
}

export interface PeerAddress {
  id: NodeId;
  host: string;
  port: number;
}

export interface ListenAddress {
  host: string;
  /** 0 picks a free port; read the one chosen from address() after start(). */
  port: number;
}

export interface BackoffOptions {
  /** First reconnect delay (default 100 ms). */
  initialMs?: number;
  /** Cap on the delay (default 5000 ms). */
  maxMs?: number;
}

export interface NetIpcTransportOptions {
  id: NodeId;
  listen: ListenAddress;
  /** Every cluster member; an entry for `id` itself is ignored. */
  peers: readonly PeerAddress[];
  /** The cluster secret; the TLS pre-shared keys are derived from it. */
  secret: string | Uint8Array;
  logger: Logger;
  /** Messages held per peer while it is slow or away (default 1024); the oldest go first. */
  queueLimit?: number;
  backoff?: BackoffOptions;
  /** A dial that has not completed the handshake by then is abandoned, and so is an inbound one (default 5000 ms). */
  connectTimeoutMs?: number;
  /** Bytes allowed in a peer socket's write buffer before messages wait in the queue (default 1 MiB). */
  maxBufferedBytes?: number;
  /** A connection whose buffer stays full this long is torn down and redialed (default 10000 ms). */
  stallTimeoutMs?: number;
  /** Random source for backoff jitter, [0, 1). */
  random?: () => number;
}

export interface PeerLinkStats {
  id: NodeId;
  address: string;
  connected: boolean;
  queued: number;
  sent: number;
  /** Dropped because the queue was full. */
  dropped: number;
  /** Dials that failed or connections that broke. */
  failures: number;
  lastError: string | null;
}

export interface TransportStats {
  peers: PeerLinkStats[];
  received: number;
  /** Inbound connections refused: failed TLS-PSK handshake, unknown identity, or identity mismatch. */
  refused: number;
  /** Messages for ids that are not peers. */
  unknownPeerDrops: number;
}
