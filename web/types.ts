// What the admin app needs from its node (AdminDeps) and what it knows about a caller (Principal).
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ClusterView, NodeReportSource, StateStore } from '../cluster/node/types.js';
import type { AccessSource, Role } from '../cluster/state/types.js';
import type { BackendSnapshot } from '../lb/pool-types.js';
import type { SealKey } from '../lb/tls/key-seal.js';

/** The workers' runtime, as WorkerSupervisor offers it. */
export interface WorkerViews {
  /** Per pool, per backend runtime views merged across workers (active connections add up). */
  poolViews(): Promise<Record<string, BackendSnapshot[]>>;
  /** The workers' data-plane metrics aggregated into one registry. */
  metrics(): Promise<Registry>;
}

export interface LoginLimits {
  /** Failed logins per user name within windowMs before that name is refused (429). */
  perUser: number;
  /** Failed logins per client address within windowMs before it is refused (429). */
  perAddress: number;
  windowMs: number;
}

export interface AdminDeps {
  logger: Logger;
  /** This node's id: every read says which node answered. */
  nodeId: string;
  /** The replicated state: writes go through propose (forwarded to the leader by a Raft store). */
  store: StateStore & AccessSource;
  /** Ready once this node serves its listeners and its API. */
  isReady(): { ready: boolean; reason: string };
  /** Bound port per data-plane listener, as the workers report them. */
  listenerPorts(): Record<string, number>;
  /** This node's Raft role, for load balancers and scripts that pick the active node (as Patroni's /leader). */
  role(): { id: string; role: string; leader: string | null; vipHeld: boolean };
  /** Raft view for GET /cluster and the raft/vip gauges; a one-node node reports itself leader. */
  clusterView(): ClusterView;
  /** Null while no workers run (then live fields read null and /metrics has no data-plane families). */
  workers: WorkerViews | null;
  /** Node-level metrics (health checks). */
  registry: Registry;
  /** Starts handing leadership to `to` (or the most caught-up voter); resolves with the target. Throws ClusterError. */
  transferLeadership(to: string | null): Promise<string>;
  /** Wall clock (epoch ms) for sessions and the audit log. */
  now?: () => number;
  loginLimits?: LoginLimits;
  /** Seals uploaded certificate keys (from the cluster secret); absent: certificate uploads are refused. */
  sealKey?: SealKey;
  /** Every node's own report as this node received it (GET /api/v1/nodes); absent: this node alone. */
  nodeReports?: NodeReportSource | null;
  /**
   * Waits until this node applied what the cluster had committed (Raft ReadIndex); absent or null on
   * a one-node node. A login that fails on a node still catching up is checked once more after it.
   */
  readBarrier?: ((timeoutMs: number) => Promise<void>) | null;
}

export type AuthVia = 'session' | 'token' | 'basic';

/** An authenticated caller. */
export interface Principal {
  user: string;
  role: Role;
  via: AuthVia;
  /** Set for a cookie session: the CSRF token its writes must echo in x-csrf-token, and its expiry. */
  session: { csrfToken: string; expiresAt: number } | null;
  /** Id of the API token used, if any. */
  tokenId: string | null;
}

/** Who may call a route: anyone, any authenticated user, or admins only. */
export type Access = 'open' | 'viewer' | 'admin';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    access?: Access;
  }
}
