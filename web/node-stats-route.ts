// GET /api/v1/node/stats: this node's CPU, memory, load and interfaces for the panel (CPU and memory
// read with systeminformation). Readings are cached briefly so many open panels cost the host no more
// than one.
import { loadavg, uptime } from 'node:os';
import type { FastifyInstance } from 'fastify';
import si from 'systeminformation';
import { InterfaceSampler } from '../cluster/node/interface-sampler.js';
import type { HostStats } from '../cluster/node/types.js';
import type { Access } from './types.js';

export interface NodeStatsBody extends HostStats {
  node: string;
  at: number;
}

const STATS_TTL_MS = 1_000;

export class NodeStatsSampler {
  private stats: { at: number; body: Promise<NodeStatsBody> } | null = null;
  private readonly interfaces = new InterfaceSampler();

  constructor(
    private readonly nodeId: string,
    private readonly now: () => number = Date.now,
  ) {}

  read(): Promise<NodeStatsBody> {
    const now = this.now();
    if (!this.stats || now - this.stats.at >= STATS_TTL_MS) {
      const body = this.sample(now);
      this.stats = { at: now, body };
      // A failed reading is not cached.
      body.catch(() => {
        if (this.stats?.body === body) this.stats = null;
      });
    }
    return this.stats.body;
  }

  private async sample(now: number): Promise<NodeStatsBody> {
    // CPU and memory from systeminformation (files under /proc, read asynchronously); interfaces from
    // our own sampler, which starts no process (interface-sampler.ts says why).
    const [load, mem, interfaces] = await Promise.all([si.currentLoad(), si.mem(), this.interfaces.read(now)]);
    return {
      node: this.nodeId,
      at: now,
      // A first reading can be NaN; a report with NaN could not travel to the peers (JSON).
      cpu: { percent: Number.isFinite(load.currentLoad) ? Math.round(load.currentLoad * 10) / 10 : 0, cores: load.cpus.length },
      // "used" as free(1) counts it: without buffers and page cache.
      memory: { total: mem.total, used: mem.active },
      load: loadavg().map((l) => Math.round(l * 100) / 100),
      uptimeSec: Math.round(uptime()),
      interfaces,
    };
  }
}

const StatsResponse = {
  type: 'object',
  additionalProperties: false,
  required: ['node', 'at', 'cpu', 'memory', 'load', 'uptimeSec', 'interfaces'],
  properties: {
    node: { type: 'string' },
    at: { type: 'integer' },
    cpu: { type: 'object', properties: { percent: { type: 'number' }, cores: { type: 'integer' } } },
    memory: { type: 'object', properties: { total: { type: 'integer' }, used: { type: 'integer' } } },
    load: { type: 'array', items: { type: 'number' } },
    uptimeSec: { type: 'integer' },
    interfaces: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          name: { type: 'string' },
          ip4: { type: 'string' },
          up: { type: 'boolean' },
          rxBytesPerSec: { type: ['number', 'null'] },
          txBytesPerSec: { type: ['number', 'null'] },
        },
      },
    },
  },
} as const;

export interface NodeStatsRouteOptions {
  nodeId: string;
}

/** Registers GET /api/v1/node/stats; any authenticated user may read it. */
export async function nodeStatsRoute(app: FastifyInstance, opts: NodeStatsRouteOptions): Promise<void> {
  const sampler = new NodeStatsSampler(opts.nodeId);
  app.get('/api/v1/node/stats', { schema: { response: { 200: StatsResponse } }, config: { access: 'viewer' satisfies Access } }, async () => sampler.read());
}
