// The admin HTTP app (fastify): probes, the REST API under /api/v1, /metrics and the API docs, with
// authentication, roles and CSRF checked before any route runs. buildApp() is separate from
// listen() so tests can inject().
import Fastify, { type FastifyRequest } from 'fastify';
import { createNodeReportBoard } from '../cluster/node/node-report.js';
import { createApiContext } from './api-context.js';
import { auditRoutes } from './audit-routes.js';
import { certificateRoutes } from './certificate-routes.js';
import { changeWatchRoutes } from './change-watch-route.js';
import { cacheRoutes } from './cache-routes.js';
import { Authenticator } from './authenticator.js';
import { clusterRoutes } from './cluster-routes.js';
import { errorHandler } from './error-reply.js';
import { WebError } from './errors.js';
import { edgeRoutes } from './edge-routes.js';
import { listenerRoutes } from './listener-routes.js';
import { DEFAULT_LOGIN_LIMITS, LoginLimiter } from './login-limiter.js';
import { metricsRoutes } from './metrics-route.js';
import { nodeRoutes } from './node-routes.js';
import { nodeStatsRoute } from './node-stats-route.js';
import { docsRoutes } from './openapi.js';
import { panelPlugin } from './panel/plugin.js';
import { poolRoutes } from './pool-routes.js';
import { probeRoutes } from './probe-routes.js';
import { compileRequestValidator, registerRoutes } from './route-table.js';
import { sessionRoutes } from './session-routes.js';
import { sameSecret } from './session-cookie.js';
import { tokenRoutes } from './token-routes.js';
import type { AdminDeps } from './types.js';
import { userRoutes } from './user-routes.js';

export type { AdminDeps } from './types.js';

/** Largest request body: a pool of 1000 backends fits with room to spare. */
export const BODY_LIMIT = 1024 * 1024;

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function buildApp(deps: AdminDeps) {
  const now = deps.now ?? Date.now;
  // Per-request logs stay off (warn): probes and scrapes would drown the log; changes are audited instead.
  // fastify's default 10 s plugin timeout killed nodes starting on a starved VM (the panel plugin checks
  // its bundle at registration): a slow start must not become a crash loop under systemd.
  const app = Fastify({ loggerInstance: deps.logger.child({ component: 'admin' }, { level: 'warn' }), bodyLimit: BODY_LIMIT, pluginTimeout: 120_000 });
  app.setValidatorCompiler(compileRequestValidator);
  app.setErrorHandler(errorHandler(deps.logger));
  app.setNotFoundHandler(async (req) => {
    throw new WebError('WEB_ERR_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0] ?? ''}`);
  });
  app.decorateRequest('principal', null);

  const auth = new Authenticator(() => deps.store.readAccess(), new LoginLimiter(deps.loginLimits ?? DEFAULT_LOGIN_LIMITS, now), now, deps.readBarrier ?? null);

  // Default deny: a route is open only when it says so, and unknown URLs need credentials too.
  app.addHook('onRequest', async (req: FastifyRequest) => {
    const access = req.routeOptions.config.access ?? 'viewer';
    if (access === 'open') return;
    const principal = await auth.authenticate(req);
    if (!principal) {
      throw new WebError('WEB_ERR_UNAUTHORIZED', 'authentication required: log in with POST /api/v1/session, or send a bearer API token or HTTP Basic credentials');
    }
    req.principal = principal;
    // The cookie rides along on any request the browser makes, so a cookie-authenticated write must
    // also prove it read the session's CSRF token (a cross-site form cannot set this header).
    if (principal.session && !SAFE_METHODS.has(req.method)) {
      const sent = req.headers['x-csrf-token'];
      if (typeof sent !== 'string' || !sameSecret(sent, principal.session.csrfToken)) {
        throw new WebError('WEB_ERR_CSRF', 'writes made with the session cookie must send the x-csrf-token header (the csrfToken from POST or GET /api/v1/session)');
      }
    }
    if (access === 'admin' && principal.role !== 'admin') {
      throw new WebError('WEB_ERR_FORBIDDEN', `user "${principal.user}" is a ${principal.role}; this needs the admin role`);
    }
  });

  const api = createApiContext(deps, auth, now);
  const workers = deps.workers;
  const changes = changeWatchRoutes(api);
  // Long polls answer at once when the app closes, so close() does not wait out their timers.
  app.addHook('preClose', async () => changes.close());
  const routes = [
    ...probeRoutes(api),
    ...sessionRoutes(api),
    ...clusterRoutes(api),
    ...poolRoutes(api),
    ...listenerRoutes(api),
    ...edgeRoutes(api),
    ...userRoutes(api),
    ...tokenRoutes(api),
    ...auditRoutes(api),
    ...metricsRoutes(api),
    ...changes.routes,
    ...cacheRoutes(api),
    ...certificateRoutes(api),
    // Without a node's board (tests, a bare app) the answer is this node alone.
    ...nodeRoutes(api, deps.nodeReports ?? createNodeReportBoard({ nodeId: deps.nodeId, logger: deps.logger, clusterView: () => deps.clusterView(), raft: () => null, metrics: workers ? () => workers.metrics() : null })),
  ];
  routes.push(...docsRoutes(routes));
  registerRoutes(app, routes);
  // The web panel (web/panel) and the host stats it shows.
  void app.register(panelPlugin);
  void app.register(nodeStatsRoute, { nodeId: deps.nodeId });
  return app;
}

export type AdminApp = ReturnType<typeof buildApp>;
