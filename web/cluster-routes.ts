// /api/v1/cluster: the Raft view from this node, and leadership transfer.
import type { ApiContext } from './api-context.js';
import { WebError } from './errors.js';
import { defineRoute, ok, type ApiRoute } from './route-table.js';
import { ClusterResponse, TransferBody, TransferResponse } from './schemas.js';

export function clusterRoutes(api: ApiContext): ApiRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/api/v1/cluster',
      summary: 'Leader, term, commit index, VIP holder and every node as this node sees them',
      tag: 'cluster',
      access: 'viewer',
      schema: { response: { 200: ClusterResponse } },
    }, async () => {
      const view = api.deps.clusterView();
      return ok({ ...api.meta(), leader: view.leader, term: view.term, leadingForMs: view.leadingForMs, vip: view.vip, nodes: view.nodes });
    }),
    defineRoute({
      method: 'POST',
      url: '/api/v1/cluster/transfer-leadership',
      summary: 'Start handing leadership (and the VIP) to another voter: `to`, or the most caught-up one; GET /cluster shows when it is done',
      tag: 'cluster',
      access: 'admin',
      schema: { body: TransferBody, response: { 200: TransferResponse } },
    }, async (ctx) => {
      const view = api.deps.clusterView();
      if (view.nodes.length <= 1) throw new WebError('WEB_ERR_CONFLICT', 'single-node cluster: nothing to transfer to');
      const to = ctx.body.to ?? null;
      if (to !== null && !view.nodes.some((n) => n.id === to)) {
        throw new WebError('WEB_ERR_NOT_FOUND', `to: no node "${to}" in this cluster (nodes: ${view.nodes.map((n) => n.id).join(', ')})`, { field: 'to' });
      }
      if (to !== null && to === view.leader) throw new WebError('WEB_ERR_CONFLICT', `to: "${to}" is already the leader`, { field: 'to' });
      const target = await api.deps.transferLeadership(to);
      api.deps.logger.info({ user: ctx.principal?.user, from: ctx.ip, to: target }, 'leadership transfer requested');
      return ok({ ...api.meta(), to: target });
    }),
  ];
}
