// Commands of the replicated state machine. Versioned so that a node never misreads a command
// written by a newer or older release; every node applies the same bytes to the same result.
import type { BackendHealth, BackendSpec, CachePurge, CertificateSpec, ListenerSpec, PoolSpec, RouteSpec } from '../../lb/types.js';

export interface BackendChanges {
  weight?: number;
  state?: BackendSpec['state'];
  backup?: boolean;
  maxConns?: number;
}

/** Version 1 commands: listeners, pools, backends and health. */
export type StateCommandV1 =
  | { v: 1; op: 'bootstrap'; listeners: ListenerSpec[]; pools: PoolSpec[] }
  | { v: 1; op: 'pool.put'; pool: PoolSpec }
  | { v: 1; op: 'pool.delete'; pool: string }
  | { v: 1; op: 'backend.add'; pool: string; backend: BackendSpec }
  | { v: 1; op: 'backend.patch'; pool: string; backend: string; changes: BackendChanges }
  | { v: 1; op: 'backend.remove'; pool: string; backend: string }
  | { v: 1; op: 'listener.put'; listener: ListenerSpec }
  | { v: 1; op: 'listener.delete'; listener: string }
  | { v: 1; op: 'health.set'; pool: string; backend: string; health: BackendHealth };

export type StateCommand = StateCommandV1 | StateCommandV2;

export type StateErrorCode = 'STATE_ERR_NOT_FOUND' | 'STATE_ERR_CONFLICT' | 'STATE_ERR_INVALID';

export type ApplyResult = { ok: true; version: number } | { ok: false; error: { code: StateErrorCode; field: string; message: string } };

// ---- Version 2: create-or-fail / replace-or-fail writes, users, API tokens, the audit log ----

export type Role = 'admin' | 'viewer';

export interface UserRecord {
  name: string;
  role: Role;
  /** A self-describing password hash (web/password.ts); never the password. */
  passwordHash: string;
  /** Epoch ms, from the proposer (the machine has no clock). */
  createdAt: number;
  updatedAt: number;
}

export interface TokenRecord {
  /** Public part of the token, also its key here. */
  id: string;
  /** Operator's label, e.g. "prometheus". */
  name: string;
  /** Acts as this user, with at most this role. */
  user: string;
  role: Role;
  /** Hash of the secret part; the token itself is shown once and never stored. */
  hash: string;
  createdAt: number;
}

/** Who asked for a change and from where, as the web edge authenticated them. */
export interface Actor {
  user: string;
  via: 'session' | 'token' | 'basic' | 'system';
  /** Client address. */
  from: string;
}

export interface AuditEntry {
  /** Monotonic across the cluster's life; survives the bound on kept entries. */
  seq: number;
  at: number;
  user: string;
  via: Actor['via'];
  from: string;
  /** The command's op, e.g. "backend.patch". */
  action: string;
  /** What it changed, e.g. "web/a". */
  target: string;
  /** A short human summary; never secrets or hashes. */
  detail: string;
  /** State version this change produced. */
  version: number;
}

export type ConfigCommandV2 =
  | { v: 2; op: 'pool.create'; pool: PoolSpec }
  | { v: 2; op: 'pool.replace'; pool: PoolSpec }
  | { v: 2; op: 'listener.create'; listener: ListenerSpec }
  | { v: 2; op: 'listener.replace'; listener: ListenerSpec }
  /** Only the edge settings of a listener and its routes (issue 7); everything else stays. */
  | { v: 2; op: 'listener.edge'; listener: string; edge: EdgeSettings }
  /** Purge cached responses on every node and worker; the machine numbers it (CachePurge.seq). */
  | { v: 2; op: 'cache.purge'; purge: CachePurgeRequest }
  /** Add or replace a certificate; its key must be in the sealed form (lb/tls/key-seal.ts). */
  | { v: 2; op: 'cert.put'; certificate: CertificateSpec }
  | { v: 2; op: 'cert.delete'; name: string };

export type AccessCommand =
  /** Once per cluster: the session-signing secret and the first admin. */
  | { v: 2; op: 'access.init'; secret: string; admin: UserRecord }
  | { v: 2; op: 'user.add'; user: UserRecord }
  | { v: 2; op: 'user.update'; name: string; role?: Role; passwordHash?: string; at: number }
  | { v: 2; op: 'user.remove'; name: string }
  | { v: 2; op: 'token.add'; token: TokenRecord }
  | { v: 2; op: 'token.revoke'; id: string };

/** Any other command plus who asked for it: applied and recorded in the audit log atomically. */
export interface AuditedCommand {
  v: 2;
  op: 'audited';
  actor: Actor;
  at: number;
  cmd: StateCommandV1 | ConfigCommandV2 | AccessCommand;
}

export type StateCommandV2 = ConfigCommandV2 | AccessCommand | AuditedCommand;

/** Read access to users, tokens and the audit log as applied on this node. */
export interface AccessReader {
  /** The per-cluster secret session cookies are signed with; null before access.init. */
  sessionSecret(): string | null;
  user(name: string): Readonly<UserRecord> | undefined;
  users(): UserRecord[];
  token(id: string): Readonly<TokenRecord> | undefined;
  tokens(): TokenRecord[];
  /** Newest first; `before` is an exclusive upper bound on seq. */
  audit(query: { limit: number; before?: number }): AuditEntry[];
}

/** A state store whose access data (users, tokens, audit) the web edge can read. */
export interface AccessSource {
  readAccess(): AccessReader;
}

// ---- Edge settings of a listener, replaced as a whole by `listener.edge` (issue 7) ----

export type ListenerEdgeFields = Pick<ListenerSpec, 'access' | 'rateLimits' | 'filter' | 'accessLog' | 'acceptProxy' | 'proxyFrom' | 'sendProxy' | 'maxConnsPerIp'>;
export type RouteEdgeFields = Pick<RouteSpec, 'access' | 'rateLimits' | 'filter'>;

export interface EdgeSettings {
  listener: ListenerEdgeFields;
  /** By route (host and pathPrefix); routes not named lose their edge settings. */
  routes: (Pick<RouteSpec, 'host' | 'pathPrefix'> & RouteEdgeFields)[];
}

/** A purge as proposed: the machine assigns its seq (the purge generation workers track). */
export type CachePurgeRequest = Omit<CachePurge, 'seq'>;
