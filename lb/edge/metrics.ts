// Edge decision metrics: what the access rules, rate limits, request filter and PROXY checks refused or flagged.
import { Counter, type Registry } from 'prom-client';

export interface EdgeMetrics {
  /** action: blocked (refused) or monitored (a filter match let through in monitor mode). */
  decisionsTotal: Counter<'listener' | 'rule' | 'action'>;
}

export function createEdgeMetrics(registry: Registry): EdgeMetrics {
  return {
    decisionsTotal: new Counter({
      name: 'ballast_edge_decisions_total',
      help: 'Requests and connections refused (or flagged in monitor mode) at the edge, by rule id',
      labelNames: ['listener', 'rule', 'action'],
      registers: [registry],
    }),
  };
}
