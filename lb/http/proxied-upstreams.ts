// ProxiedUpstreams: backend connections owned by one client connection, for listeners that send a
// PROXY header. The header names one client and is written once per TCP connection, so such a
// connection must never carry another client's request (HAProxy's send-proxy on an HTTP backend
// does the same: no connection reuse across clients). Keep-alive still works within one client
// connection; its pools close when that client connection does.
import type { Pool } from 'undici';
import type { HostPort } from '../types.js';
import type { ProxyBinding } from './proxy-binding.js';

type PoolFactory = (to: HostPort, preamble: () => Buffer) => Pool;

export class ProxiedUpstreams {
  /** Client connection -> (PROXY version + backend address) -> its pool. */
  private readonly owners = new Map<object, Map<string, Pool>>();

  constructor(
    private readonly create: PoolFactory,
    /** Closes a pool once its in-flight requests finished. */
    private readonly retire: (pool: Pool) => void,
  ) {}

  get(to: HostPort, binding: ProxyBinding): Pool {
    let pools = this.owners.get(binding.owner);
    if (pools === undefined) {
      pools = new Map();
      const mine = pools;
      this.owners.set(binding.owner, mine);
      binding.onClose(() => {
        // takeAll() may have forgotten this owner since; a later request may have bound it anew.
        if (this.owners.get(binding.owner) === mine) this.owners.delete(binding.owner);
        for (const pool of mine.values()) this.retire(pool);
        mine.clear();
      });
    }
    const key = `${binding.version}|${to.host}:${to.port}`;
    let pool = pools.get(key);
    if (pool === undefined) {
      let header: Buffer | undefined;
      // Encoded on first connect and kept: the client's address does not change under it.
      pool = this.create(to, () => (header ??= binding.header()));
      pools.set(key, pool);
    }
    if (binding.closed()) {
      // The close event may already be past: the request about to be dispatched finishes, then the pool goes.
      this.owners.delete(binding.owner);
      const last = pool;
      queueMicrotask(() => this.retire(last));
      pools.delete(key);
    }
    return pool;
  }

  /** Pools of open client connections, counted for tests and metrics. */
  size(): number {
    let n = 0;
    for (const pools of this.owners.values()) n += pools.size;
    return n;
  }

  /** Settings changed: every client's next request opens a fresh connection under the new ones. */
  retireAll(): void {
    // Owners stay: their close handler is already registered.
    for (const pools of this.owners.values()) {
      for (const pool of pools.values()) this.retire(pool);
      pools.clear();
    }
  }

  /** Hands every pool over (for close/destroy) and forgets them. */
  takeAll(): Pool[] {
    const all: Pool[] = [];
    for (const pools of this.owners.values()) all.push(...pools.values());
    for (const pools of this.owners.values()) pools.clear();
    this.owners.clear();
    return all;
  }
}
