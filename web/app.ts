// The admin HTTP app (fastify): health and readiness probes now; the REST API, auth, /metrics and
// the panel hang off the same app. buildApp() is separate from listen() so tests can inject().
import Fastify from 'fastify';
import type { Logger } from 'pino';

export interface AdminDeps {
  logger: Logger;
  /** Ready once this node serves its listeners and its API. */
  isReady(): { ready: boolean; reason: string };
  /** Bound port per data-plane listener, as the workers report them. */
  listenerPorts(): Record<string, number>;
  /** This node's Raft role, for load balancers and scripts that pick the active node (as Patroni's /leader). */
  role(): { id: string; role: string; leader: string | null; vipHeld: boolean };
}

export function buildApp(deps: AdminDeps) {
  // Per-request logs stay off (warn): probes and scrapes would drown the log; changes are audited instead.
  const app = Fastify({ loggerInstance: deps.logger.child({ component: 'admin' }, { level: 'warn' }) });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const r = deps.isReady();
    return reply.code(r.ready ? 200 : 503).send({ ready: r.ready, reason: r.reason, listeners: deps.listenerPorts(), node: deps.role() });
  });
  return app;
}

export type AdminApp = ReturnType<typeof buildApp>;
