// IpcEdgeChannel: a worker's EdgeChannel over its net-ipc connection to the node.
import type { Client } from 'net-ipc';
import type { EdgeRequest, EdgeTakeReply, EdgeWorkerMessage } from '../types.js';
import type { EdgeChannel } from './types.js';

const REQUEST_TIMEOUT_MS = 1000;

export class IpcEdgeChannel implements EdgeChannel {
  constructor(private readonly client: Client) {}

  async take(key: string, ratePerSec: number, burst: number, scope: 'node' | 'cluster', want: number): Promise<EdgeTakeReply> {
    const req: EdgeRequest = { type: 'edge.take', key, ratePerSec, burst, scope, want };
    return (await this.client.request(req, REQUEST_TIMEOUT_MS)) as EdgeTakeReply;
  }

  async connOpen(key: string, limit: number): Promise<boolean> {
    const req: EdgeRequest = { type: 'edge.conn-open', key, limit };
    try {
      const r = (await this.client.request(req, REQUEST_TIMEOUT_MS)) as { ok: boolean };
      return r.ok;
    } catch {
      // The node did not answer: admit (availability first), as the rate limiter does.
      return true;
    }
  }

  connClose(key: string): void {
    const msg: EdgeWorkerMessage = { type: 'edge.conn-close', key };
    this.client.send(msg).catch(() => undefined);
  }
}
