// An HTTP/1.1 Upgrade (WebSocket) on an HTTP listener: routed, split and gated like any request,
// then tunnelled to one backend (tunnel.ts). No response object exists here, so refusals are
// written raw on the socket.
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { HttpGate } from '../edge/http-gate.js';
import { peerOf } from '../edge/peer-address.js';
import type { GateVerdict } from '../edge/types.js';
import type { ListenerSpec, RouteSpec } from '../types.js';
import { DUPLICATE_HOST, hasOneHostAtMost } from './client-errors.js';
import { requestCookie } from './cookies.js';
import { upstreamRequestHeaders } from './header-rewrite.js';
import { rawReply } from './local-reply.js';
import { proxyBinding } from './proxy-binding.js';
import { retryPolicy, routeTimeouts, type RetryPolicy } from './retry-policy.js';
import type { RouteExtras } from './route-extras.js';
import { normalizeHost, originForm, requestPath, type Router } from './router.js';
import { Tunnel } from './tunnel.js';
import type { HttpListenerDeps } from './types.js';
import type { UpstreamPools } from './upstream-pools.js';

/** What an upgrade needs of its listener. */
export interface UpgradeSite {
  readonly name: string;
  readonly deps: HttpListenerDeps;
  readonly upstreams: UpstreamPools;
  /** Tunnels' backend sockets, destroyed with the listener. */
  readonly upstreamSockets: Set<Socket>;
  /** The listener's settings as they are now: update() replaces them live. */
  live(): { spec: ListenerSpec; router: Router; extras: RouteExtras; gate: HttpGate };
  /** Attributes the socket's bytes to pool and backend (metrics). */
  accountBytes(socket: Socket, pool: string, backend: string): void;
}

type RecordOutcome = (status: number, reached: string) => void;

export function handleUpgrade(site: UpgradeSite, req: IncomingMessage, socket: Socket, head: Buffer): void {
  const began = performance.now();
  const { router, extras, gate } = site.live();
  const route = router.match(normalizeHost(req.headers.host), requestPath(req.url ?? '/'));
  // A split route's upgrade follows the split (and its pins); no cookie can be set on a 101.
  const split = route === undefined ? undefined : extras.split(route);
  const header = (name: string): string | undefined => {
    const v = req.headers[name];
    return Array.isArray(v) ? v.join(', ') : v;
  };
  const pool = split?.choose(header, (name) => requestCookie(req, name)).pool ?? route?.pool ?? '';
  let backend = '';
  socket.once('close', () => site.accountBytes(socket, pool, backend));
  const record: RecordOutcome = (status, reached) => {
    backend = reached;
    site.deps.metrics.httpRequestsTotal.inc({ listener: site.name, pool, backend, code: String(status) });
    site.deps.metrics.httpRequestDuration.observe({ listener: site.name, pool }, (performance.now() - began) / 1000);
  };
  if (!hasOneHostAtMost(req.rawHeaders)) {
    refuse(socket, 400, DUPLICATE_HOST, record);
    return;
  }
  const verdict = gate.check(req, route, peerOf(socket).address, originForm(req.url ?? '/'));
  const decide = (v: GateVerdict): void => {
    if (v.kind === 'pass') toBackend(site, req, socket, head, route, pool, record);
    else refuse(socket, v.status, v.reason, record);
  };
  if (verdict instanceof Promise) verdict.then(decide, () => socket.destroy());
  else decide(verdict);
}

function refuse(socket: Socket, status: number, body: string, record: RecordOutcome): void {
  record(status, '');
  socket.on('error', () => socket.destroy());
  socket.end(rawReply(status, STATUS_CODES[status] ?? 'Error', body));
}

function toBackend(site: UpgradeSite, req: IncomingMessage, socket: Socket, head: Buffer, route: RouteSpec | undefined, pool: string, record: RecordOutcome): void {
  if (socket.destroyed) return;
  const { spec } = site.live();
  const picker = route === undefined ? undefined : site.deps.pools(pool);
  if (route === undefined || picker === undefined) {
    const host = normalizeHost(req.headers.host);
    const [status, kind, body] =
      route === undefined
        ? ([404, 'no_route', `no route for ${host === '' ? '-' : host} ${requestPath(req.url ?? '/')}`] as const)
        : ([503, 'no_backend', `no healthy backend in pool "${pool}"`] as const);
    site.deps.metrics.proxyErrorsTotal.inc({ listener: site.name, pool, kind });
    refuse(socket, status, body, record);
    return;
  }
  const clientIp = peerOf(socket).address;
  const headers = upstreamRequestHeaders(req.rawHeaders, { clientIp, proto: spec.tls === undefined ? 'http' : 'https' }, true);
  new Tunnel(req, socket, head, headers, clientIp, {
    listener: site.name,
    picker,
    timeouts: routeTimeouts(spec, route),
    retries: tunnelRetries(retryPolicy(spec, route)),
    metrics: site.deps.metrics,
    logger: site.deps.logger,
    upstreamSockets: site.upstreamSockets,
    backendTls: site.upstreams.backendTls(),
    proxyHeader: spec.sendProxy === undefined ? undefined : proxyBinding(req, spec.sendProxy).header(),
    onResult: record,
  }).start();
}

/** An upgrade is retried only before it reaches a backend (a 101 cannot be replayed). */
function tunnelRetries(policy: RetryPolicy): number {
  return policy.on.has('connect-failure') ? policy.attempts : 0;
}
