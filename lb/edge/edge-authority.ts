// EdgeAuthority: the node-wide edge state its workers share (token buckets, per-address connection
// counts), answering EdgeRequests; lives in the node process, or in-process for a lone data plane.
import type { EdgeRequest, EdgeTakeReply } from '../types.js';
import { TokenBuckets } from './token-buckets.js';

export type EdgeReply = EdgeTakeReply | { ok: boolean };

export class EdgeAuthority {
  private readonly buckets: TokenBuckets;
  /** Open connections per key, and per owner (worker) so a dead worker's slots can be freed. */
  private readonly conns = new Map<string, number>();
  private readonly owned = new Map<string, Map<string, number>>();
  /** Fraction of a cluster-scoped limit this node enforces: 1 / live nodes. */
  private share = 1;

  constructor(
    private readonly now: () => number = Date.now,
    maxKeys?: number,
  ) {
    this.buckets = new TokenBuckets(maxKeys);
  }

  /** Cluster-wide limits: each of N live nodes enforces rate/N and burst/N (no per-request traffic between nodes). */
  setClusterShare(liveNodes: number): void {
    this.share = 1 / Math.max(1, Math.floor(liveNodes));
  }

  clusterShare(): number {
    return this.share;
  }

  handle(req: EdgeRequest, owner: string): EdgeReply {
    switch (req.type) {
      case 'edge.take': {
        const f = req.scope === 'cluster' ? this.share : 1;
        // A node's share of a burst never drops below one token, or nothing would ever pass.
        const burst = Math.max(1, req.burst * f);
        return this.buckets.take(`${req.scope}|${req.key}`, this.now(), req.ratePerSec * f, burst, Math.max(1, req.want));
      }
      case 'edge.conn-open':
        return { ok: this.open(req.key, req.limit, owner) };
      default: {
        const never: never = req;
        throw new TypeError(`unknown edge request ${JSON.stringify(never)}`);
      }
    }
  }

  private open(key: string, limit: number, owner: string): boolean {
    const n = this.conns.get(key) ?? 0;
    if (limit > 0 && n >= limit) return false;
    this.conns.set(key, n + 1);
    const mine = this.owned.get(owner) ?? new Map<string, number>();
    this.owned.set(owner, mine);
    mine.set(key, (mine.get(key) ?? 0) + 1);
    return true;
  }

  close(key: string, owner: string): void {
    const mine = this.owned.get(owner);
    const m = mine?.get(key) ?? 0;
    if (mine === undefined || m === 0) return;
    if (m === 1) mine.delete(key);
    else mine.set(key, m - 1);
    const n = (this.conns.get(key) ?? 1) - 1;
    if (n <= 0) this.conns.delete(key);
    else this.conns.set(key, n);
  }

  /** A worker went away: its connections went with it. */
  forget(owner: string): void {
    const mine = this.owned.get(owner);
    if (mine === undefined) return;
    for (const [key, m] of mine) {
      const n = (this.conns.get(key) ?? 0) - m;
      if (n <= 0) this.conns.delete(key);
      else this.conns.set(key, n);
    }
    this.owned.delete(owner);
  }

  openConnections(key: string): number {
    return this.conns.get(key) ?? 0;
  }

  sweep(): void {
    this.buckets.sweep(this.now());
  }
}
