// /healthz (the process answers) and /readyz (this node serves its listeners and its API): open,
// for load balancers in front of the admin port, systemd and orchestration.
import type { ApiContext } from './api-context.js';
import { defineRoute, ok, type ApiRoute } from './route-table.js';
import { Healthz, Readyz } from './schemas.js';

export function probeRoutes(api: ApiContext): ApiRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/healthz',
      summary: 'Liveness: the process answers',
      tag: 'probes',
      access: 'open',
      schema: { response: { 200: Healthz } },
    }, async () => ok({ status: 'ok' as const })),
    defineRoute({
      method: 'GET',
      url: '/readyz',
      summary: 'Readiness: 200 once this node serves its listeners and its API, 503 with the reason otherwise',
      tag: 'probes',
      access: 'open',
      schema: { response: { 200: Readyz, 503: Readyz } },
    }, async () => {
      const r = api.deps.isReady();
      const body = { ready: r.ready, reason: r.reason, listeners: api.deps.listenerPorts(), node: api.deps.role() };
      return r.ready ? ok(body) : { status: 503 as const, body };
    }),
  ];
}
