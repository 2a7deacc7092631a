// Cluster-wide traffic per backend: each node reports its cumulative request and 5xx counters
// (GET /api/v1/nodes); the rate on a node is the increase between two of its reports over the time
// between them on its own clock, and the cluster's rate is the sum over the nodes reporting now.
import type { NodeReportModel } from './models.js';
import { counterIncrease } from './traffic-snapshot.js';

export interface ClusterBackendRate {
  pool: string;
  backend: string;
  /** Requests/s summed over the nodes counted. */
  rps: number;
  /** 5xx share of those requests; null when there were none. */
  errorRate: number | null;
}

export interface ClusterTrafficView {
  rows: ClusterBackendRate[];
  /** Nodes whose rates are in the sums. */
  counted: string[];
  /** Nodes left out: unreachable or stale (their last rate is not current), or with no second report yet. */
  missing: string[];
}

type Counters = Map<string, { requests: number; errors: number }>;
interface NodeRates {
  at: number;
  counters: Counters;
  rates: Map<string, { rps: number; eps: number }> | null;
}

const key = (pool: string, backend: string) => `${pool}\u0000${backend}`;

export class ClusterTraffic {
  private readonly byNode = new Map<string, NodeRates>();

  push(nodes: readonly NodeReportModel[]): ClusterTrafficView {
    const sums = new Map<string, ClusterBackendRate & { eps: number }>();
    const counted: string[] = [];
    const missing: string[] = [];
    for (const n of nodes) {
      const rates = this.ratesOf(n);
      if (!rates || (n.status !== 'self' && n.status !== 'fresh')) {
        missing.push(n.id);
        continue;
      }
      counted.push(n.id);
      for (const [k, r] of rates) {
        const [pool = '', backend = ''] = k.split('\u0000');
        const s = sums.get(k) ?? { pool, backend, rps: 0, eps: 0, errorRate: null };
        s.rps += r.rps;
        s.eps += r.eps;
        sums.set(k, s);
      }
    }
    const rows = [...sums.values()]
      .map(({ pool, backend, rps, eps }) => ({ pool, backend, rps, errorRate: rps > 0 ? Math.min(eps / rps, 1) : null }))
      .sort((a, b) => a.pool.localeCompare(b.pool) || a.backend.localeCompare(b.backend));
    return { rows, counted, missing };
  }

  private ratesOf(n: NodeReportModel): NodeRates['rates'] {
    if (n.traffic === null || n.at === null) return null;
    const prev = this.byNode.get(n.id);
    // The same report again (reports come every few seconds, the panel asks every second).
    if (prev && prev.at === n.at) return prev.rates;
    const counters: Counters = new Map(n.traffic.map((t) => [key(t.pool, t.backend), { requests: t.requests, errors: t.errors }]));
    let rates: NodeRates['rates'] = null;
    if (prev && n.at > prev.at) {
      const seconds = (n.at - prev.at) / 1000;
      rates = new Map();
      for (const [k, c] of counters) {
        const before = prev.counters.get(k);
        rates.set(k, { rps: counterIncrease(before?.requests, c.requests) / seconds, eps: counterIncrease(before?.errors, c.errors) / seconds });
      }
    }
    this.byNode.set(n.id, { at: n.at, counters, rates });
    return rates;
  }
}
