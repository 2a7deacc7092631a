// GET /api/v1/nodes: every node's role, Raft figures, host stats and traffic counters as it reported
// them to the answering node over the peer link, with the age of each report, so any node's panel
// (and `ballast ctl status`) shows the whole cluster.
import type { ApiContext } from './api-context.js';
import { defineRoute, ok, type ApiRoute } from './route-table.js';
import { NodesResponse } from './schemas.js';
import type { NodeReportSource } from '../cluster/node/types.js';

export function nodeRoutes(api: ApiContext, reports: NodeReportSource): ApiRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/api/v1/nodes',
      summary: "Every node's own report (role, term, commit, host CPU/memory/load/interfaces, traffic counters) with its age; unreachable when none came lately",
      tag: 'cluster',
      access: 'viewer',
      schema: { response: { 200: NodesResponse } },
    }, async () => {
      const nodes = await reports.view();
      return ok({ ...api.meta(), reportEveryMs: reports.everyMs, staleAfterMs: reports.staleAfterMs, unreachableAfterMs: reports.unreachableAfterMs, nodes });
    }),
  ];
}
