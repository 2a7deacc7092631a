// LocalEdgeChannel: an EdgeChannel straight into an in-process EdgeAuthority (a data plane without
// a node: unit tests, single-process tools).
import { EdgeAuthority } from './edge-authority.js';
import type { EdgeChannel } from './types.js';
import type { EdgeTakeReply } from '../types.js';

export class LocalEdgeChannel implements EdgeChannel {
  constructor(readonly authority = new EdgeAuthority()) {}

  async take(key: string, ratePerSec: number, burst: number, scope: 'node' | 'cluster', want: number): Promise<EdgeTakeReply> {
    return this.authority.handle({ type: 'edge.take', key, ratePerSec, burst, scope, want }, 'local') as EdgeTakeReply;
  }

  async connOpen(key: string, limit: number): Promise<boolean> {
    const r = this.authority.handle({ type: 'edge.conn-open', key, limit }, 'local');
    return 'ok' in r && r.ok;
  }

  connClose(key: string): void {
    this.authority.close(key, 'local');
  }
}
