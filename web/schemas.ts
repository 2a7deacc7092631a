// TypeBox schemas of the REST API's params, bodies and responses. Request bodies for pools,
// backends and listeners are the config file's own schemas (config/schema.ts); responses read
// state back in that same input form (plus what is observed), so a GET body can be PUT back.
import { Type, type SchemaOptions, type Static, type TProperties, type TSchema } from '@sinclair/typebox';
import { ListenerProtectionProps } from '../config/protection-schema.js';
import { ADMIN_STATES, HealthCheckInput, PoolInput, RouteInput, SCHEDULERS } from '../config/schema.js';
import { TOKEN_ID_PATTERN } from './api-token.js';
import { ListenerEdgeView } from './listener-edge-view.js';

function StringEnum<T extends readonly string[]>(values: T, options: SchemaOptions = {}) {
  return Type.Unsafe<T[number]>({ ...options, type: 'string', enum: [...values] });
}

/** Pool, backend, listener and user names: the config schema's name rule. */
export const Name = PoolInput.properties.name;
const Role = StringEnum(['admin', 'viewer'] as const);
const Nullable = <T extends TSchema>(t: T, description: string) => Type.Union([t, Type.Null()], { description });

const Obj = <P extends TProperties>(props: P, options: SchemaOptions = {}) => Type.Object(props, { additionalProperties: false, ...options });

// ---- params and query ----

export const PoolParams = Obj({ pool: Name });
export const BackendParams = Obj({ pool: Name, backend: Name });
export const ListenerParams = Obj({ listener: Name });
export const UserParams = Obj({ user: Name });
export const TokenParams = Obj({ id: Type.String({ pattern: TOKEN_ID_PATTERN, errorMessage: 'must be a token id (12 hex digits)' }) });
export const AuditQuery = Obj({
  limit: Type.Optional(Type.String({ pattern: '^(1000|[1-9][0-9]{0,2})$', errorMessage: 'must be a number 1..1000' })),
  before: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,14}$', errorMessage: 'must be an audit sequence number' })),
});

// ---- bodies ----

const Password = Type.String({ minLength: 8, maxLength: 1024, errorMessage: 'must be 8..1024 characters' });
export const LoginBody = Obj({ user: Type.String({ minLength: 1, maxLength: 63 }), password: Type.String({ minLength: 1, maxLength: 1024 }) });
export const UserCreate = Obj({ name: Name, role: Role, password: Password });
export const UserPatch = Obj({ role: Type.Optional(Role), password: Type.Optional(Password) }, { minProperties: 1, errorMessage: 'must set role or password' });
export const TokenCreate = Obj({ name: Name, role: Type.Optional(Role) });
export const TransferBody = Obj({ to: Type.Optional(Name) });

// ---- responses ----

const MetaProps = {
  node: Type.String({ description: 'The node that answered' }),
  version: Type.Integer({ description: 'Version of the replicated state this answer reflects' }),
  commitIndex: Type.Integer({ description: 'Raft commit index on the answering node' }),
};
export const Meta = Obj(MetaProps);
const WithMeta = <P extends TProperties>(props: P) => Obj({ ...MetaProps, ...props });

export const ErrorBody = Obj({
  error: Obj({
    code: Type.String({ description: 'Stable code: WEB_ERR_*, CONFIG_ERR_*, STATE_ERR_* or CLUSTER_ERR_*' }),
    message: Type.String(),
    field: Type.String({ description: 'The request field at fault, e.g. backends[1].weight; empty when none' }),
  }),
});

export const HealthView = Obj({
  status: StringEnum(['up', 'down', 'unknown'] as const),
  reason: Type.String(),
  since: Type.Integer({ description: 'Epoch ms of the last transition; 0 when never checked' }),
});

export const BackendView = Obj({
  name: Name,
  address: Type.String(),
  weight: Type.Integer(),
  state: StringEnum(ADMIN_STATES),
  backup: Type.Boolean(),
  maxConns: Type.Integer(),
  healthCheck: Type.Optional(Obj({ port: Type.Optional(Type.Integer()), path: Type.Optional(Type.String()) })),
  health: HealthView,
  active: Nullable(Type.Integer(), 'In-flight connections (tcp) or requests (http) across workers; null when the workers did not answer'),
  eligible: Nullable(Type.Boolean(), 'Would get new work now in any worker; null when the workers did not answer'),
});

export const PoolView = Obj({
  name: Name,
  scheduler: StringEnum(SCHEDULERS),
  healthCheck: Type.Optional(HealthCheckInput),
  slowStart: Type.String(),
  outlier: Type.Optional(Obj({ consecutiveFailures: Type.Integer(), ejectTime: Type.String() })),
  backends: Type.Array(BackendView),
  stickiness: Type.Optional(PoolInput.properties.stickiness),
  stickyCookie: Type.Optional(Type.String()),
});

export const ListenerView = Obj({
  name: Name,
  mode: StringEnum(['http', 'tcp'] as const),
  bind: Type.String(),
  pool: Type.Optional(Name),
  routes: Type.Array(RouteInput),
  maxConns: Type.Integer(),
  retries: Type.Integer(),
  maxHeaderBytes: Type.Integer(),
  timeouts: Obj({ connect: Type.String(), clientHeader: Type.String(), responseHeader: Type.String(), idle: Type.String() }),
  port: Nullable(Type.Integer(), 'Port the workers bound; null when not listening'),
  ...ListenerEdgeView,
  ...ListenerProtectionProps,
});

export const PoolList = WithMeta({ pools: Type.Array(PoolView) });
export const PoolOne = WithMeta({ pool: PoolView });
export const BackendOne = WithMeta({ pool: Name, backend: BackendView });
export const ListenerList = WithMeta({ listeners: Type.Array(ListenerView) });
export const ListenerOne = WithMeta({ listener: ListenerView });

const RaftRole = StringEnum(['leader', 'follower', 'candidate', 'pre-candidate', 'learner', 'unknown'] as const);

export const ClusterResponse = WithMeta({
  leader: Nullable(Type.String(), 'Leader id; null while there is none'),
  term: Type.Integer(),
  leadingForMs: Nullable(Type.Integer(), 'On the leader: ms it has led, by its own clock; null on other nodes'),
  vip: Obj({
    address: Nullable(Type.String(), 'null when no VIP is configured'),
    holder: Nullable(Type.String(), 'Node holding the VIP'),
    heldForMs: Nullable(Type.Integer(), 'On the holder: ms since it last raised the VIP, by its own clock; null on other nodes'),
  }),
  nodes: Type.Array(
    Obj({
      id: Type.String(),
      address: Type.String(),
      role: RaftRole,
      roleFrom: Nullable(
        StringEnum(['raft', 'report'] as const),
        "raft: this node's Raft knows it (its own role, the leader's, and on the leader every member's); report: the node's own report of this term, a few seconds old at most (how a follower knows another follower); null: unknown",
      ),
      lastContactMs: Nullable(Type.Integer(), 'ms since the leader last heard from it'),
      matchIndex: Nullable(Type.Integer(), 'Highest log index known replicated on it'),
    }),
  ),
});
export const TransferResponse = WithMeta({ to: Type.String({ description: 'The voter leadership is being handed to' }) });

export const SessionView = Obj({
  user: Type.String(),
  role: Role,
  via: StringEnum(['session', 'token', 'basic'] as const),
  csrfToken: Nullable(Type.String(), 'Send as x-csrf-token on every write made with the session cookie'),
  expiresAt: Nullable(Type.Integer(), 'Epoch ms the session cookie expires'),
});

export const UserView = Obj({ name: Name, role: Role, createdAt: Type.Integer(), updatedAt: Type.Integer() });
export const UserList = WithMeta({ users: Type.Array(UserView) });
export const UserOne = WithMeta({ user: UserView });

export const TokenView = Obj({ id: Type.String(), name: Type.String(), user: Type.String(), role: Role, createdAt: Type.Integer() });
export const TokenList = WithMeta({ tokens: Type.Array(TokenView) });
export const TokenCreated = WithMeta({ token: TokenView, secret: Type.String({ description: 'The bearer token; shown only in this answer' }) });

export const AuditList = WithMeta({
  entries: Type.Array(
    Obj({
      seq: Type.Integer(),
      at: Type.Integer(),
      user: Type.String(),
      via: StringEnum(['session', 'token', 'basic', 'system'] as const),
      from: Type.String(),
      action: Type.String(),
      target: Type.String(),
      detail: Type.String(),
      version: Type.Integer(),
    }),
  ),
});

export const Healthz = Obj({ status: Type.Literal('ok') });
export const Readyz = Obj({
  ready: Type.Boolean(),
  reason: Type.String(),
  listeners: Type.Record(Type.String(), Type.Integer(), { description: 'Bound port per listener' }),
  node: Obj({ id: Type.String(), role: Type.String(), leader: Nullable(Type.String(), 'null while no leader is known'), vipHeld: Type.Boolean() }),
});
export const Text = Type.String();
export const NoContent = Type.Null({ description: 'No body' });

export type MetaT = Static<typeof Meta>;
export type PoolViewT = Static<typeof PoolView>;
export type BackendViewT = Static<typeof BackendView>;
export type ListenerViewT = Static<typeof ListenerView>;

export const CacheQuery = Obj({
  listener: Type.Optional(Name),
  route: Type.Optional(Type.String({ minLength: 1, maxLength: 2300, description: 'Route name, or host + pathPrefix of an unnamed route' })),
  prefix: Type.Optional(Type.String({ pattern: '^/', maxLength: 2048, errorMessage: 'must start with "/"' })),
});
export const CachePurgeResponse = WithMeta({
  purge: Obj({ seq: Type.Integer({ description: 'Purge generation; every worker of every node applies it once' }) }),
});

// ---- GET /api/v1/nodes: every node's own report, as the answering node received it ----

export const HostStatsView = Obj({
  cpu: Obj({ percent: Type.Number({ description: 'Busy share of all cores, 0..100' }), cores: Type.Integer() }),
  memory: Obj({ total: Type.Number({ description: 'Bytes' }), used: Type.Number({ description: 'Bytes in use without buffers and page cache' }) }),
  load: Type.Array(Type.Number(), { description: '1, 5 and 15 minute load averages' }),
  uptimeSec: Type.Integer(),
  interfaces: Type.Array(
    Obj({
      name: Type.String(),
      ip4: Type.String(),
      up: Type.Boolean(),
      rxBytesPerSec: Nullable(Type.Number(), 'null when not measured yet'),
      txBytesPerSec: Nullable(Type.Number(), 'null when not measured yet'),
    }),
  ),
});
export const NodeReportView = Obj({
  node: Type.String(),
  at: Type.Integer({ description: "Epoch ms on the reporting node's clock when it made the report" }),
  raft: Obj({
    role: RaftRole,
    term: Type.Integer(),
    leader: Nullable(Type.String(), 'The leader as the reporting node knows it'),
    commitIndex: Type.Integer(),
    lastIndex: Type.Integer({ description: "Last index in the reporting node's own log" }),
    leaderContactMs: Nullable(Type.Integer(), 'ms since the reporting node last heard from its leader (0 on the leader)'),
  }),
  stats: Type.Union([HostStatsView, Type.Null()], { description: 'null when the host could not be read' }),
  traffic: Type.Union(
    [
      Type.Array(
        Obj({
          pool: Type.String(),
          backend: Type.String(),
          requests: Type.Number({ description: 'HTTP requests to this backend through this node since its workers started (a counter)' }),
          errors: Type.Number({ description: 'Of those, answered with a 5xx' }),
        }),
      ),
      Type.Null(),
    ],
    { description: 'Cumulative per-backend counters of the reporting node; null while it runs no workers' },
  ),
});
export const NodesResponse = WithMeta({
  reportEveryMs: Type.Integer({ description: 'How often each node sends its report to its peers' }),
  staleAfterMs: Type.Integer({ description: 'A report older than this is stale' }),
  unreachableAfterMs: Type.Integer({ description: 'No report for this long (or never): the node is unreachable from here' }),
  nodes: Type.Array(
    Obj({
      id: Type.String(),
      status: StringEnum(['self', 'fresh', 'stale', 'unreachable'] as const),
      ageMs: Nullable(Type.Integer(), "ms since the answering node received this node's last report; null: never"),
      report: Type.Union([NodeReportView, Type.Null()], { description: 'The last report received (kept when stale or unreachable); null: never' }),
    }),
  ),
});
export type NodesResponseT = Static<typeof NodesResponse>;
