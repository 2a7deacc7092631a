// GET /metrics: the node's registry (health checks), the workers' aggregated data-plane registry,
// the Raft/VIP gauges and the control process's own metrics, as one Prometheus exposition.
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { ClusterView } from '../cluster/node/types.js';
import type { ApiContext } from './api-context.js';
import { defineRoute, ok, type ApiRoute } from './route-table.js';
import { Text } from './schemas.js';

/** Gauges read from the cluster view at scrape time, plus process metrics, on their own registry. */
export function createControlRegistry(view: () => ClusterView): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const gauge = (name: string, help: string, value: (v: ClusterView) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(value(view()));
      },
    });
  gauge('ballast_raft_term', 'Current Raft term as this node sees it', (v) => v.term);
  gauge('ballast_raft_is_leader', '1 while this node is the Raft leader', (v) => Number(v.leader === v.nodeId));
  gauge('ballast_raft_commit_index', 'Highest log index this node knows committed', (v) => v.commitIndex);
  gauge('ballast_vip_held', '1 while this node holds the VIP', (v) => Number(v.vip.holder !== null && v.vip.holder === v.nodeId));
  return registry;
}

export function metricsRoutes(api: ApiContext): ApiRoute[] {
  const control = createControlRegistry(() => api.deps.clusterView());
  return [
    defineRoute({
      method: 'GET',
      url: '/metrics',
      summary: 'Prometheus metrics (authenticate with Basic or a bearer token)',
      tag: 'metrics',
      access: 'viewer',
      produces: control.contentType,
      schema: { response: { 200: Text } },
    }, async () => {
      const workers = api.deps.workers ? await api.deps.workers.metrics().catch(() => null) : null;
      const parts = [control, api.deps.registry, ...(workers ? [workers] : [])];
      return ok(await Registry.merge(parts).metrics());
    }),
  ];
}
