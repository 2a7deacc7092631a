// Data-plane metric families. Each worker owns a registry; the node aggregates them
// (prom-client AggregatorRegistry) into /metrics. Names follow Prometheus conventions.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface DataPlaneMetrics {
  /** Accepted client connections per listener. */
  connectionsTotal: Counter<'listener'>;
  /** Open client connections per listener. */
  listenerActiveConnections: Gauge<'listener'>;
  /** In-flight connections (tcp) or requests (http) per backend. */
  backendActiveConnections: Gauge<'pool' | 'backend'>;
  /** HTTP responses sent to clients, by status code; backend is "" when none was reached. */
  httpRequestsTotal: Counter<'listener' | 'pool' | 'backend' | 'code'>;
  httpRequestDuration: Histogram<'listener' | 'pool'>;
  /** Bytes read from clients. */
  receivedBytesTotal: Counter<'listener' | 'pool' | 'backend'>;
  /** Bytes written to clients. */
  sentBytesTotal: Counter<'listener' | 'pool' | 'backend'>;
  /** Balancer-side failures: no_route, no_backend, connect_failed, connect_timeout, response_timeout, backend_reset, limit. */
  proxyErrorsTotal: Counter<'listener' | 'pool' | 'kind'>;
  backendConnectFailuresTotal: Counter<'pool' | 'backend'>;
  /**
   * Work in flight per listener, what a planned VIP move waits for: HTTP requests being served plus
   * connections that have not sent their first request yet; every open connection of a TCP listener.
   * Idle keep-alive connections do not count.
   */
  listenerInFlight: Gauge<'listener'>;
}

export const LISTENER_IN_FLIGHT = 'ballast_listener_in_flight';

export function createDataPlaneMetrics(registry: Registry): DataPlaneMetrics {
  const registers = [registry];
  return {
    connectionsTotal: new Counter({
      name: 'ballast_connections_total',
      help: 'Client connections accepted',
      labelNames: ['listener'],
      registers,
    }),
    listenerActiveConnections: new Gauge({
      name: 'ballast_listener_active_connections',
      help: 'Open client connections',
      labelNames: ['listener'],
      registers,
    }),
    backendActiveConnections: new Gauge({
      name: 'ballast_backend_active_connections',
      help: 'In-flight connections (tcp) or requests (http) on a backend',
      labelNames: ['pool', 'backend'],
      registers,
    }),
    httpRequestsTotal: new Counter({
      name: 'ballast_http_requests_total',
      help: 'HTTP responses sent to clients by status code',
      labelNames: ['listener', 'pool', 'backend', 'code'],
      registers,
    }),
    httpRequestDuration: new Histogram({
      name: 'ballast_http_request_duration_seconds',
      help: 'Time from request received to response finished',
      labelNames: ['listener', 'pool'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    receivedBytesTotal: new Counter({
      name: 'ballast_received_bytes_total',
      help: 'Bytes read from clients',
      labelNames: ['listener', 'pool', 'backend'],
      registers,
    }),
    sentBytesTotal: new Counter({
      name: 'ballast_sent_bytes_total',
      help: 'Bytes written to clients',
      labelNames: ['listener', 'pool', 'backend'],
      registers,
    }),
    proxyErrorsTotal: new Counter({
      name: 'ballast_proxy_errors_total',
      help: 'Failures decided by the balancer, by kind',
      labelNames: ['listener', 'pool', 'kind'],
      registers,
    }),
    backendConnectFailuresTotal: new Counter({
      name: 'ballast_backend_connect_failures_total',
      help: 'Failed connection attempts to a backend',
      labelNames: ['pool', 'backend'],
      registers,
    }),
    listenerInFlight: new Gauge({
      name: LISTENER_IN_FLIGHT,
      help: 'Requests being served and connections yet to send one (every open connection on a TCP listener)',
      labelNames: ['listener'],
      registers,
    }),
  };
}
