// The data-plane model: the normalized state the control plane hands to every worker.
// Config (config/) and the replicated state machine (cluster/state) both produce this shape;
// workers (lb/worker) diff successive versions and apply them live.

export type SchedulerName = 'round-robin' | 'least-conn' | 'ip-hash';
export type AdminState = 'active' | 'drain' | 'disabled';
export type HealthStatus = 'up' | 'down' | 'unknown';
export type ListenerMode = 'http' | 'tcp';

export interface HostPort {
  host: string;
  port: number;
}

/** Inclusive range of HTTP status codes, e.g. 200-399 or 204-204. */
export interface StatusRange {
  from: number;
  to: number;
}

export interface HealthCheckSpec {
  type: 'tcp' | 'http';
  intervalMs: number;
  timeoutMs: number;
  rise: number;
  fall: number;
  /** Interval while a backend is between states (HAProxy fastinter). */
  fastIntervalMs: number;
  /** Interval while a backend is down (HAProxy downinter). */
  downIntervalMs: number;
  /** Probe port when it differs from the traffic port. */
  port?: number;
  method: string;
  path: string;
  host?: string;
  expectStatus: StatusRange[];
  /** Substring, or a regular expression written as /source/flags. */
  expectBody?: string;
}

/** Passive outlier detection: consecutive failures seen by the engines eject a backend. */
export interface OutlierSpec {
  consecutiveFailures: number;
  ejectMs: number;
}

export interface BackendSpec {
  name: string;
  host: string;
  port: number;
  /** 0..256; 0 behaves as drain. */
  weight: number;
  state: AdminState;
  /** Gets traffic only while no primary backend of the pool is eligible. */
  backup: boolean;
  /** 0 = unlimited. */
  maxConns: number;
  /** Per-backend overrides of the pool's probe. */
  healthCheck?: { port?: number; path?: string };
}

export interface PoolSpec {
  name: string;
  scheduler: SchedulerName;
  healthCheck?: HealthCheckSpec;
  /** 0 = off. A backend that comes up ramps its weight over this long. */
  slowStartMs: number;
  outlier?: OutlierSpec;
  backends: BackendSpec[];
}

export interface RouteSpec {
  /** Exact host, or a wildcard "*.example.com"; absent matches any host. */
  host?: string;
  pathPrefix: string;
  pool: string;
}

export interface TimeoutsSpec {
  /** Backend TCP connect. */
  connectMs: number;
  /** Client must finish sending request headers within this (slowloris guard). */
  clientHeaderMs: number;
  /** Backend must start its response within this. */
  responseHeaderMs: number;
  /** Idle connection (either side, no bytes moving). */
  idleMs: number;
}

export interface ListenerSpec {
  name: string;
  mode: ListenerMode;
  bind: HostPort;
  /** tcp mode: the pool every connection goes to. */
  pool?: string;
  /** http mode: routes, matched by host then longest path prefix. */
  routes: RouteSpec[];
  /** 0 = unlimited. */
  maxConns: number;
  timeouts: TimeoutsSpec;
  /** How many other backends to try when a connection to one fails. */
  retries: number;
  /** http mode: largest accepted request header block, bytes (431 beyond). */
  maxHeaderBytes: number;
  /** http mode: terminate TLS (HTTPS, and HTTP/2 by ALPN); absent = plain HTTP. */
  tls?: ListenerTlsSpec;
  /** http mode: gzip/brotli of responses; absent = off. */
  compression?: CompressionSpec;
  /** http mode: response header hygiene; absent = headers pass as the backend sent them. */
  headers?: HeaderPolicySpec;
  /** http mode: TLS from the balancer to the backends; absent = plain HTTP to backends. */
  backendTls?: BackendTlsSpec;
  /** tcp mode: route TLS connections by the ClientHello's SNI, without decrypting; `pool` is the fallback. */
  sniRoutes?: SniRouteSpec[];
}

export interface BackendHealth {
  status: HealthStatus;
  reason: string;
  /** Epoch ms of the last transition. */
  since: number;
}

/** pool name -> backend name -> health. */
export type HealthTable = Record<string, Record<string, BackendHealth>>;

export interface DataPlaneState {
  /** Monotonic; a worker ignores a state older than the one it has. */
  version: number;
  listeners: ListenerSpec[];
  pools: PoolSpec[];
  health: HealthTable;
  /** Certificates from the cluster state, referenced by listeners as `{ name }`. */
  certificates?: CertificateSpec[];
  /** Seed for TLS session-ticket keys, the same for every worker of a node (base64); set by the node. */
  ticketSeed?: string;
}

/** How a connection or request on a backend ended, for passive outlier detection. */
export type LeaseOutcome = 'ok' | 'connect-failure' | 'server-error';

/** A backend picked for one TCP connection or one HTTP request; release exactly once. */
export interface BackendLease {
  readonly pool: string;
  readonly backend: string;
  readonly host: string;
  readonly port: number;
  release(outcome: LeaseOutcome): void;
}

/** What the engines see of a pool: pick an eligible backend, honouring the scheduler. */
export interface PoolPicker {
  readonly name: string;
  /**
   * An eligible backend for this client, or undefined when none is (all down, drained,
   * excluded, or at maxConns). `exclude` holds backend names already tried for this request.
   */
  acquire(clientIp: string, exclude?: ReadonlySet<string>): BackendLease | undefined;
}

/** Pool lookup by name; the worker swaps pools in and out live. */
export type PoolDirectory = (pool: string) => PoolPicker | undefined;

/** A running listener (lb/tcp or lb/http). Created by the worker from a ListenerSpec. */
export interface ListenerEngine {
  readonly name: string;
  /** Bind and start accepting; rejects with LbError LB_ERR_LISTEN_FAILED naming the address. */
  start(): Promise<void>;
  /** Apply a changed spec with the same mode and bind, live: no listener restart, no dropped connections. */
  update(spec: ListenerSpec): void;
  /** Stop accepting; established connections finish on their own. Resolves once the socket is closed. */
  close(): Promise<void>;
  /** Close everything now, established connections included (shutdown after the drain bound). */
  destroy(): void;
  /** Bound port (useful with port 0 in tests). */
  port(): number;
  activeConnections(): number;
}

/** Node -> worker messages over the local net-ipc socket. */
export type NodeToWorker =
  | { type: 'state'; state: DataPlaneState }
  /** Stop accepting, let established work finish within timeoutMs, then exit. */
  | { type: 'drain'; timeoutMs: number };

/** Worker -> node messages. */
export type WorkerToNode =
  | { type: 'applied'; version: number; listening: Record<string, number>; errors: Record<string, string> };

/** Node -> worker requests (answered with a response). */
export type WorkerRequest = { type: 'metrics' } | { type: 'pools' };

// ---- TLS, HTTP/2, compression and header hygiene at the edge (issue 6) ----

export type TlsVersion = 'TLSv1.2' | 'TLSv1.3';

/** Where a listener's certificate comes from: files on the node, inline PEM, or the cluster state. */
export type CertificateRef = { certFile: string; keyFile: string } | { cert: string; key: string } | { name: string };

export interface HstsSpec {
  maxAgeSeconds: number;
  includeSubDomains: boolean;
  preload: boolean;
}

export interface ListenerTlsSpec {
  /** Chosen by SNI (exact names, then wildcards, from each certificate's SAN/CN); the first is the default. */
  certificates: CertificateRef[];
  minVersion: TlsVersion;
  /** OpenSSL cipher list for TLS 1.2; absent = the modern default of lb/tls. */
  ciphers?: string;
  /** Offer h2 by ALPN (next to http/1.1). */
  http2: boolean;
  /** A plain-HTTP listener on this address answering 301 to the https URL. */
  redirectHttp?: HostPort;
  /** Strict-Transport-Security on every response. */
  hsts?: HstsSpec;
}

export interface CompressionSpec {
  enabled: boolean;
  /** Responses whose Content-Length is below this are sent as they are. */
  minBytes: number;
  /** Media types compressed: "text/html", "text/*"; types ending in +json or +xml match "+json"/"+xml". */
  types: string[];
  /** 1..9: the gzip level, and the brotli quality. */
  level: number;
}

export interface HeaderPolicySpec {
  /** true: drop Server and X-Powered-By; a string: Server becomes it, X-Powered-By is dropped. */
  hideServer?: true | string;
  /** Response header names removed (case-insensitive). */
  removeResponse: string[];
  /** Response headers set (replacing the backend's). */
  addResponse: Record<string, string>;
}

export interface BackendTlsSpec {
  enabled: boolean;
  /** PEM CA bundle to verify backends with; absent = the system store. */
  ca?: string;
  /** A CA bundle file on the node. */
  caFile?: string;
  /** SNI and the name verified; absent = the backend's host when it is a name. */
  servername?: string;
  /** Verify the backend's certificate chain and name. */
  verify: boolean;
}

export interface SniRouteSpec {
  /** Exact host or a wildcard "*.example.com". */
  host: string;
  pool: string;
}

/** A certificate as the cluster state holds it. */
export interface CertificateSpec {
  name: string;
  /** PEM chain: leaf first, then intermediates. */
  cert: string;
  /**
   * PEM private key in what workers get; in the replicated state it is the sealed form
   * ("sealed:v1:..."), encrypted with a key derived from the cluster secret (lb/tls/key-seal.ts).
   */
  key: string;
}

// ---- Edge protection: rate limits, access rules, request filter, access logs, PROXY protocol (issue 7) ----

/** CIDR access rule of a listener or route: a deny match refuses; a non-empty allow list refuses whatever it does not match. */
export interface AccessRuleSpec {
  /** "10.0.0.0/8", "2001:db8::/32", or a single address. */
  allow: string[];
  deny: string[];
}

/** What a rate limit counts by: the client address, one request header's value, or the matched route. */
export type RateLimitKey = 'ip' | 'header' | 'route';

export interface RateLimitSpec {
  key: RateLimitKey;
  /** key "header": the header whose value is the bucket (an API key); requests without it are keyed by client address. */
  header?: string;
  /** Tokens added per second. */
  ratePerSec: number;
  /** Bucket size: how many requests may come at once after a quiet spell. */
  burst: number;
  /** node: the limit holds per node (shared by its workers); cluster: each node enforces rate/N of N live nodes. */
  scope: 'node' | 'cluster';
}

export interface RequestFilterSpec {
  /** block: refuse matching requests (403, 400, 413 or 415); monitor: log them and let them through. */
  mode: 'block' | 'monitor';
  /** Rule ids switched off (lb/edge/request-filter.ts lists them). */
  disabled: string[];
  /** Check request bodies as JSON (size, Content-Type, syntax). */
  json: boolean;
  /** Largest JSON body accepted, bytes. */
  maxJsonBytes: number;
}

export interface AccessLogSpec {
  format: 'json' | 'combined';
  /** "stdout", or a file path on the node (reopened on SIGHUP). */
  path: string;
  /** 0..1: fraction of requests/connections logged. */
  sample: number;
}

// Declaration merging: the edge settings are optional fields of RouteSpec and ListenerSpec.

/** Per-route edge settings (http listeners): a route's filter replaces the listener's; limits and rules add up. */
export interface RouteSpec {
  access?: AccessRuleSpec;
  rateLimits?: RateLimitSpec[];
  filter?: RequestFilterSpec;
}

export interface ListenerSpec {
  /** Checked on every connection (tcp: closed at accept) or request (http: 403). */
  access?: AccessRuleSpec;
  /** http: per request; tcp: new connections per second. */
  rateLimits?: RateLimitSpec[];
  /** http: the default filter of routes that set none. */
  filter?: RequestFilterSpec;
  accessLog?: AccessLogSpec;
  /** Expect a PROXY protocol v1/v2 header on every connection; a connection without one is closed. */
  acceptProxy?: boolean;
  /** With acceptProxy: the peers allowed to send it (CIDRs); absent = any peer. */
  proxyFrom?: string[];
  /** Send a PROXY protocol header to the backend naming the client (http: backend connections are then per client connection). */
  sendProxy?: 'v1' | 'v2';
  /** Open connections per client address on this node; 0 = unlimited. */
  maxConnsPerIp?: number;
}

/** Worker -> node requests for node-wide edge state (answered by the node's EdgeAuthority). */
export type EdgeRequest =
  /** Take up to `want` tokens from a bucket; rate and burst travel along so the node needs no spec. */
  | { type: 'edge.take'; key: string; ratePerSec: number; burst: number; scope: 'node' | 'cluster'; want: number }
  /** Open one connection slot for a client address (maxConnsPerIp). */
  | { type: 'edge.conn-open'; key: string; limit: number };

export interface EdgeTakeReply {
  granted: number;
  /** When granted is 0: ms until one token is back. */
  retryAfterMs: number;
}

/** Worker -> node one-way messages for edge state. */
export type EdgeWorkerMessage = { type: 'edge.conn-close'; key: string };

/** Node -> worker one-way edge messages. */
export type EdgeNodeMessage = { type: 'edge.reopen-logs' };

// ---- Response caching, sticky sessions and canary splits (issue 7, edge2) ----
// Optional members merged into the declarations above (TypeScript declaration merging), so the
// existing shapes stay as they are and states without these fields mean "off".

/** Response caching of one route; absent = off. */
export interface RouteCacheSpec {
  /** Memory bound of this route's cache in each worker (LRU by bytes). */
  maxBytes: number;
  /** Bodies larger than this are streamed to the client and not stored. */
  maxObjectBytes: number;
  /** Freshness of a response that carries no max-age, s-maxage or Expires; 0 = such responses are not stored. */
  defaultTtlMs: number;
  /** Store responses to requests with Authorization (only when the response says public or s-maxage). */
  allowAuthorization: boolean;
  /** Look up and store requests that carry a Cookie (the cookie is not part of the key unless the response varies on it). */
  allowCookies: boolean;
}

/** One pool of a weighted split; weights are relative (95/5, 1/19, 100/0 all work). */
export interface SplitTarget {
  pool: string;
  weight: number;
}

/** How a client stays on the pool of a split it was given. */
export interface SplitPinSpec {
  /** Ballast sets this cookie to the pool's name and honours it while that pool has weight. */
  cookie?: string;
  /** A value naming a pool of the split picks it; any other value is hashed onto the weights (stable per value). */
  header?: string;
}

/** A purge of cached responses, as the replicated state carries it; workers apply each seq once. */
export interface CachePurge {
  /** Monotonic across the cluster (the purge generation). */
  seq: number;
  /** Listener name; absent = every listener. */
  listener?: string;
  /** Route id (its name, or host+pathPrefix when unnamed); absent = every cached route. */
  route?: string;
  /** Path prefix of the cached request targets purged; absent = everything. */
  prefix?: string;
}

export interface RouteSpec {
  /** Route id for purges and metrics; absent: host + pathPrefix. */
  name?: string;
  /** Weighted split between pools; `pool` then names the first pool of the split. */
  split?: SplitTarget[];
  /** Keeps a client on its split pool; needs `split`. */
  pin?: SplitPinSpec;
  cache?: RouteCacheSpec;
}

export interface PoolSpec {
  /** 'cookie': Ballast inserts a cookie naming the backend and honours it while that backend is eligible. */
  stickiness?: 'none' | 'cookie';
  /** Name of the stickiness cookie; absent: "ballast_<pool>". */
  stickyCookie?: string;
}

export interface DataPlaneState {
  /** The most recent purges (bounded); a worker applies those with seq above the last it applied. */
  cachePurges?: CachePurge[];
}

export interface PoolPicker {
  /**
   * A lease on this backend when it is eligible right now (serving tier, not full, not excluded);
   * undefined otherwise. Sticky sessions use it; pickers without stickiness may leave it out.
   */
  acquireBackend?(backend: string, exclude?: ReadonlySet<string>): BackendLease | undefined;
  /** The stickiness cookie name when the pool has `stickiness: cookie`. */
  stickyCookie?(): string | undefined;
}

/** Declaration merge (issue 6, gRPC): adds to BackendTlsSpec without touching its declaration above. */
export interface BackendTlsSpec {
  /** Offer h2 by ALPN to backends (next to http/1.1): gRPC and other h2-only services, trailers relayed. */
  http2?: boolean;
}

// ---- Per-route retries and timeouts (issue 7, retries) ----
// Declaration merge: optional route fields; absent = the listener's `retries` and `timeouts`.

/**
 * What makes a retry worth trying. `connect-failure`: no backend connection (nothing was sent).
 * `reset`: the backend closed the connection before any response. `5xx`: it answered 500-599.
 * `timeout`: no response headers within responseHeader.
 */
export type RetryCondition = 'connect-failure' | 'reset' | '5xx' | 'timeout';

export interface RouteRetrySpec {
  /** Further attempts after the first, each on a backend not tried yet for this request. */
  attempts: number;
  on: RetryCondition[];
  /** Methods repeated once the request may have reached a backend (connect failures retry any method). */
  methods: string[];
}

/** Per-route overrides of the listener's timeouts (connect stays per listener: connections are pooled per backend). */
export interface RouteTimeoutsSpec {
  responseHeaderMs?: number;
  idleMs?: number;
}

export interface RouteSpec {
  retry?: RouteRetrySpec;
  timeouts?: RouteTimeoutsSpec;
}

/**
 * Node -> worker request before a planned VIP move (answered with the number of HTTP connections
 * still open on `ip`): close keep-alive connections on the VIP; `ip: null` stops it (the move failed).
 */
export type WorkerVipRequest = { type: 'vip-keep-alive'; ip: string | null };
