// In-memory Transport for tests of the node and state layers: a shared network of transports with
// partitions, asynchronous delivery, and messages copied through the wire codec so byte fields behave
// exactly as they do over the real transport (a fresh Uint8Array, never a shared one).
import type { NodeId } from '../raft/types.js';
import type { MessageHandler, Transport } from './types.js';
import { decodeWire, encodeWire } from './wire-codec.js';

export class MemoryNetwork {
  readonly #nodes = new Map<NodeId, MemoryTransport<object>>();
  readonly #cut = new Set<string>();
  /** Messages handed to a handler. */
  delivered = 0;
  /** Messages lost to a partition, a stopped node or a missing handler. */
  dropped = 0;

  /** Creates (or returns) the transport of node `id` on this network. */
  transport<M extends object>(id: NodeId): MemoryTransport<M> {
    let t = this.#nodes.get(id);
    if (!t) {
      t = new MemoryTransport<object>(id, this);
      this.#nodes.set(id, t);
    }
    return t as unknown as MemoryTransport<M>;
  }

  /** Stops traffic between a and b, both ways. */
  partition(a: NodeId, b: NodeId): void {
    this.#cut.add(`${a}\0${b}`).add(`${b}\0${a}`);
  }

  /** Cuts `id` off from every other node. */
  isolate(id: NodeId): void {
    for (const other of this.#nodes.keys()) if (other !== id) this.partition(id, other);
  }

  heal(): void {
    this.#cut.clear();
  }

  /** @internal called by MemoryTransport.send */
  route(from: NodeId, to: NodeId, message: object): void {
    const copy = decodeWire(encodeWire(message)) as object;
    // A partition decides at send time: what is already in flight when it heals stays lost.
    if (this.#cut.has(`${from}\0${to}`)) {
      this.dropped++;
      return;
    }
    setImmediate(() => {
      const target = this.#nodes.get(to);
      if (!target || !target.deliver(from, copy)) {
        this.dropped++;
        return;
      }
      this.delivered++;
    });
  }
}

export class MemoryTransport<M extends object> implements Transport<M> {
  #handler: MessageHandler<M> | null = null;
  #running = false;

  constructor(
    readonly id: NodeId,
    private readonly network: MemoryNetwork,
  ) {}

  async start(): Promise<void> {
    this.#running = true;
  }

  async stop(): Promise<void> {
    this.#running = false;
  }

  send(to: NodeId, message: M): void {
    if (!this.#running) {
      this.network.dropped++;
      return;
    }
    this.network.route(this.id, to, message);
  }

  onMessage(handler: MessageHandler<M>): void {
    this.#handler = handler;
  }

  /** @internal returns false when the message cannot be taken (stopped, or no handler yet). */
  deliver(from: NodeId, message: object): boolean {
    if (!this.#running || !this.#handler) return false;
    // A throwing handler is a bug in the code under test: let it surface as an uncaught exception.
    this.#handler(from, message as M);
    return true;
  }
}
