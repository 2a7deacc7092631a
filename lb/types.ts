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
