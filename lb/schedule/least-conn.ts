// Weighted least-connections: the backend with the fewest in-flight per unit of weight wins;
// equal candidates are served in turn so that an idle pool does not pile onto its first member.
import type { Scheduler } from './types.js';

interface Peer {
  readonly id: string;
  weight: number;
}

export class LeastConnScheduler implements Scheduler {
  readonly name = 'least-conn' as const;
  private peers: Peer[] = [];
  // Counts outlive membership: a drained backend keeps its connections and must come back
  // with them counted.
  private readonly active = new Map<string, number>();
  private cursor = 0;

  up(id: string, weight: number): void {
    if (!(weight > 0)) {
      this.down(id);
      return;
    }
    const peer = this.peers.find((p) => p.id === id);
    if (peer) peer.weight = weight;
    else this.peers.push({ id, weight });
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

  take(id: string): void {
    this.active.set(id, (this.active.get(id) ?? 0) + 1);
  }

  drop(id: string): void {
    const n = this.active.get(id) ?? 0;
    if (n <= 1) this.active.delete(id);
    else this.active.set(id, n - 1);
  }

  /** In-flight count this scheduler holds for `id` (for tests and diagnostics). */
  activeOf(id: string): number {
    return this.active.get(id) ?? 0;
  }

  pick(_key: string, exclude?: ReadonlySet<string>): string | undefined {
    const n = this.peers.length;
    if (n === 0) return undefined;
    let best: Peer | undefined;
    let bestLoad = 0;
    let bestIndex = 0;
    // HAProxy's fwlc key is (conns + 1) / weight: the +1 lets weight decide among idle backends.
    // Compared by cross-multiplication to stay in integers. The scan starts after the last
    // winner and only a strictly smaller load displaces the incumbent, so ties rotate.
    for (let k = 0; k < n; k++) {
      const i = (this.cursor + k) % n;
      const peer = this.peers[i];
      if (peer === undefined || exclude?.has(peer.id)) continue;
      const load = (this.active.get(peer.id) ?? 0) + 1;
      if (best === undefined || load * best.weight < bestLoad * peer.weight) {
        best = peer;
        bestLoad = load;
        bestIndex = i;
      }
    }
    if (best === undefined) return undefined;
    this.cursor = (bestIndex + 1) % n;
    return best.id;
  }
}
