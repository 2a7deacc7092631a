// GET /api/v1/node/stats: this node's CPU, memory, load and interfaces for the panel, read with
// systeminformation (one library for what Linux spreads over /proc, /sys and ip). Readings are
// cached briefly so many open panels cost the host no more than one.
import { loadavg, uptime } from 'node:os';
import type { FastifyInstance } from 'fastify';
import si from 'systeminformation';
import type { HostStats } from '../cluster/node/types.js';
import type { Access } from './types.js';

export interface NodeStatsBody extends HostStats {
  node: string;
  at: number;
}

const STATS_TTL_MS = 1_000;
// Listing interfaces runs external commands (~150 ms); addresses change rarely.
const INTERFACES_TTL_MS = 30_000;

export class NodeStatsSampler {
  private stats: { at: number; body: Promise<NodeStatsBody> } | null = null;
  private interfaces: { at: number; list: Promise<si.Systeminformation.NetworkInterfacesData[]> } | null = null;

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

  private interfaceList(now: number): Promise<si.Systeminformation.NetworkInterfacesData[]> {
    if (!this.interfaces || now - this.interfaces.at >= INTERFACES_TTL_MS) {
      const list = si.networkInterfaces().then((r) => (Array.isArray(r) ? r : [r]));
      this.interfaces = { at: now, list };
      list.catch(() => {
        if (this.interfaces?.list === list) this.interfaces = null;
      });
    }
    return this.interfaces.list;
  }

  private async sample(now: number): Promise<NodeStatsBody> {
    const [load, mem, ifaces, traffic] = await Promise.all([si.currentLoad(), si.mem(), this.interfaceList(now), si.networkStats('*')]);
    const rates = new Map(traffic.map((t) => [t.iface, t]));
    const rate = (v: number | null | undefined) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : null);
    return {
      node: this.nodeId,
      at: now,
      // A first reading can be NaN; a report with NaN could not travel to the peers (JSON).
      cpu: { percent: Number.isFinite(load.currentLoad) ? Math.round(load.currentLoad * 10) / 10 : 0, cores: load.cpus.length },
      // "used" as free(1) counts it: without buffers and page cache.
      memory: { total: mem.total, used: mem.active },
      load: loadavg().map((l) => Math.round(l * 100) / 100),
      uptimeSec: Math.round(uptime()),
      interfaces: ifaces.map((i) => {
        const t = rates.get(i.iface);
        return { name: i.iface, ip4: i.ip4, up: i.operstate === 'up' || (i.internal && i.operstate !== 'down'), rxBytesPerSec: rate(t?.rx_sec), txBytesPerSec: rate(t?.tx_sec) };
      }),
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
