// Smooth weighted round-robin, as nginx's ngx_http_upstream_get_peer: every pick adds each
// eligible backend's weight to its current weight, takes the largest and subtracts the total.
import type { Scheduler } from './types.js';

interface Peer {
  readonly id: string;
  weight: number;
  current: number;
}

export class RoundRobinScheduler implements Scheduler {
  readonly name = 'round-robin' as const;
  // An array, not a Map walk: picks are the hot path and the order must be stable.
  private peers: Peer[] = [];

  up(id: string, weight: number): void {
    if (!(weight > 0)) {
      this.down(id);
      return;
    }
    const peer = this.peers.find((p) => p.id === id);
    if (peer) peer.weight = weight;
    else this.peers.push({ id, weight, current: 0 });
  }

  down(id: string): void {
    this.peers = this.peers.filter((p) => p.id !== id);
  }

  setWeight(id: string, weight: number): void {
    const peer = this.peers.find((p) => p.id === id);
    if (!peer) return;
    if (!(weight > 0)) this.down(id);
    else peer.weight = weight;
  }

  take(_id: string): void {}

  drop(_id: string): void {}

  pick(_key: string, exclude?: ReadonlySet<string>): string | undefined {
    let best: Peer | undefined;
    let total = 0;
    for (const peer of this.peers) {
      // Excluded peers sit the round out entirely, as nginx skips "tried" peers.
      if (exclude?.has(peer.id)) continue;
      peer.current += peer.weight;
      total += peer.weight;
      if (best === undefined || peer.current > best.current) best = peer;
    }
    if (best === undefined) return undefined;
    best.current -= total;
    return best.id;
  }
}
