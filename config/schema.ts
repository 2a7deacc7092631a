// JSON Schemas (TypeBox) for the config file and for the pool/backend/listener bodies the REST API
// reuses; the TypeScript types of the raw input come from the same schemas.
import { Type, type Static, type TSchema, type SchemaOptions } from '@sinclair/typebox';
import { ADDRESS_PATTERN } from './address.js';
import { DURATION_PATTERN } from './duration.js';
import { ListenerProtectionProps, RouteProtectionProps } from './protection-schema.js';
import { ListenerEdgeFields } from './edge-schema.js';
import { RouteRetryProps } from './route-retry.js';

/** A string enum as a plain JSON Schema `enum` (one clear error instead of an anyOf per literal). */
function StringEnum<T extends readonly string[]>(values: T, options: SchemaOptions = {}) {
  return Type.Unsafe<T[number]>({ ...options, type: 'string', enum: [...values] });
}

const Name = Type.String({
  pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$',
  errorMessage: 'must be 1-63 letters, digits, "_", "." or "-", starting with a letter or digit',
});
const Duration = Type.String({ pattern: DURATION_PATTERN, errorMessage: 'must be a duration like 500ms, 2s or 1m' });
const Address = Type.String({ pattern: ADDRESS_PATTERN, errorMessage: 'must be host:port, e.g. 127.0.0.1:8080' });
const Port = Type.Integer({ minimum: 1, maximum: 65535 });
const Count = (min: number, max: number) => Type.Integer({ minimum: min, maximum: max });

/** RFC 6265 cookie-name token, kept to the characters every client handles. */
const CookieName = Type.String({
  pattern: '^[A-Za-z0-9_.-]{1,64}$',
  errorMessage: 'must be 1-64 letters, digits, "_", "." or "-"',
});
const HeaderName = Type.String({
  pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$",
  errorMessage: 'must be an HTTP header name, e.g. x-canary',
});

export const SplitTargetInput = Type.Object({ pool: Name, weight: Count(0, 1000) }, { additionalProperties: false });
export const SplitPinInput = Type.Object(
  { cookie: Type.Optional(CookieName), header: Type.Optional(HeaderName) },
  { additionalProperties: false, minProperties: 1, errorMessage: 'must set cookie or header' },
);
export const RouteCacheInput = Type.Object(
  {
    maxBytes: Type.Optional(Count(4096, 4_294_967_296)),
    maxObjectBytes: Type.Optional(Count(1, 1_073_741_824)),
    defaultTtl: Type.Optional(Duration),
    allowAuthorization: Type.Optional(Type.Boolean()),
    allowCookies: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const SCHEDULERS = ['round-robin', 'least-conn', 'ip-hash'] as const;
export const ADMIN_STATES = ['active', 'drain', 'disabled'] as const;

export const HealthCheckInput = Type.Object(
  {
    type: StringEnum(['tcp', 'http'] as const),
    interval: Type.Optional(Duration),
    timeout: Type.Optional(Duration),
    rise: Type.Optional(Count(1, 100)),
    fall: Type.Optional(Count(1, 100)),
    fastInterval: Type.Optional(Duration),
    downInterval: Type.Optional(Duration),
    port: Type.Optional(Port),
    method: Type.Optional(StringEnum(['GET', 'HEAD', 'OPTIONS', 'POST'] as const)),
    path: Type.Optional(Type.String({ pattern: '^/', maxLength: 2048, errorMessage: 'must start with "/"' })),
    host: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    expectStatus: Type.Optional(
      Type.String({
        pattern: '^[1-5][0-9]{2}(-[1-5][0-9]{2})?(,[1-5][0-9]{2}(-[1-5][0-9]{2})?)*$',
        errorMessage: 'must be status codes or ranges like 200-399 or 200,204',
      }),
    ),
    expectBody: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
  },
  { additionalProperties: false },
);

export const BackendInput = Type.Object(
  {
    name: Name,
    address: Address,
    weight: Type.Optional(Count(0, 256)),
    state: Type.Optional(StringEnum(ADMIN_STATES)),
    backup: Type.Optional(Type.Boolean()),
    maxConns: Type.Optional(Count(0, 1_000_000)),
    healthCheck: Type.Optional(
      Type.Object(
        {
          port: Type.Optional(Port),
          path: Type.Optional(Type.String({ pattern: '^/', maxLength: 2048, errorMessage: 'must start with "/"' })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export const BackendPatch = Type.Object(
  {
    weight: Type.Optional(Count(0, 256)),
    state: Type.Optional(StringEnum(ADMIN_STATES)),
    backup: Type.Optional(Type.Boolean()),
    maxConns: Type.Optional(Count(0, 1_000_000)),
  },
  { additionalProperties: false, minProperties: 1, errorMessage: 'must set at least one of weight, state, backup, maxConns' },
);

export const PoolInput = Type.Object(
  {
    name: Name,
    scheduler: Type.Optional(StringEnum(SCHEDULERS)),
    healthCheck: Type.Optional(HealthCheckInput),
    slowStart: Type.Optional(Duration),
    outlier: Type.Optional(
      Type.Object(
        { consecutiveFailures: Count(1, 1000), ejectTime: Type.Optional(Duration) },
        { additionalProperties: false },
      ),
    ),
    backends: Type.Optional(Type.Array(BackendInput, { maxItems: 1000 })),
    stickiness: Type.Optional(StringEnum(['none', 'cookie'] as const)),
    stickyCookie: Type.Optional(CookieName),
  },
  { additionalProperties: false },
);

export const RouteInput = Type.Object(
  {
    pathPrefix: Type.String({ pattern: '^/', maxLength: 2048, errorMessage: 'must start with "/"' }),
    host: Type.Optional(
      Type.String({
        pattern: '^(\\*\\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$',
        errorMessage: 'must be a host name like example.com or *.example.com',
      }),
    ),
    pool: Type.Optional(Name),
    name: Type.Optional(Name),
    split: Type.Optional(Type.Array(SplitTargetInput, { minItems: 1, maxItems: 16 })),
    pin: Type.Optional(SplitPinInput),
    cache: Type.Optional(RouteCacheInput),
    ...RouteProtectionProps,
    ...RouteRetryProps,
  },
  { additionalProperties: false },
);

export const ListenerInput = Type.Object(
  {
    name: Name,
    mode: StringEnum(['http', 'tcp'] as const),
    bind: Address,
    pool: Type.Optional(Name),
    routes: Type.Optional(Type.Array(RouteInput, { maxItems: 1000 })),
    maxConns: Type.Optional(Count(0, 10_000_000)),
    retries: Type.Optional(Count(0, 10)),
    maxHeaderBytes: Type.Optional(Count(1024, 1_048_576)),
    timeouts: Type.Optional(
      Type.Object(
        {
          connect: Type.Optional(Duration),
          clientHeader: Type.Optional(Duration),
          responseHeader: Type.Optional(Duration),
          idle: Type.Optional(Duration),
        },
        { additionalProperties: false },
      ),
    ),
    ...ListenerEdgeFields,
    ...ListenerProtectionProps,
  },
  { additionalProperties: false },
);

const Peer = Type.Object({ id: Name, address: Address }, { additionalProperties: false });

export const ConfigFile = Type.Object(
  {
    node: Type.Object(
      {
        id: Name,
        dataDir: Type.String({ minLength: 1 }),
        adminListen: Address,
        clusterListen: Type.Optional(Address),
        workers: Type.Optional(Count(1, 64)),
        /** Host that wildcard listener binds (0.0.0.0, ::) use on this node; lets several nodes share one host. */
        listenHost: Type.Optional(
          Type.String({ pattern: '^[0-9a-fA-F:.]+$', errorMessage: 'must be an IP address, e.g. 127.0.0.2' }),
        ),
      },
      { additionalProperties: false },
    ),
    cluster: Type.Optional(
      Type.Object(
        {
          secret: Type.Optional(Type.String({ minLength: 8, errorMessage: 'must be at least 8 characters' })),
          secretFile: Type.Optional(Type.String({ minLength: 1 })),
          peers: Type.Array(Peer, { minItems: 1, maxItems: 9 }),
          vip: Type.Optional(
            Type.Object(
              {
                address: Type.String({
                  pattern: '^[0-9]{1,3}(\\.[0-9]{1,3}){3}/[0-9]{1,2}$',
                  errorMessage: 'must be an IPv4 address with prefix length, e.g. 198.18.0.100/24',
                }),
                interface: Type.String({ minLength: 1, maxLength: 15 }),
                driver: Type.Optional(StringEnum(['linux', 'noop'] as const)),
                /** Planned moves (transfer-leadership, SIGTERM): longest wait for work in flight before the VIP goes. */
                handOverDrain: Type.Optional(Duration),
              },
              { additionalProperties: false },
            ),
          ),
          heartbeat: Type.Optional(Duration),
          electionTimeout: Type.Optional(Duration),
          /** Width of the election timeout's random spread (default: half the election timeout). */
          electionJitter: Type.Optional(Duration),
          /** Longest a dial to a peer may take, TCP connect and TLS-PSK handshake, before it is abandoned and redialed. */
          peerConnectTimeout: Type.Optional(Duration),
          /** Applied entries between two Raft snapshots (etcd's --snapshot-count). */
          snapshotCount: Type.Optional(Count(10, 10_000_000)),
        },
        { additionalProperties: false },
      ),
    ),
    admin: Type.Optional(
      Type.Object(
        {
          user: Type.Optional(Name),
          password: Type.Optional(Type.String({ minLength: 8, errorMessage: 'must be at least 8 characters' })),
          passwordFile: Type.Optional(Type.String({ minLength: 1 })),
        },
        { additionalProperties: false },
      ),
    ),
    bootstrap: Type.Optional(
      Type.Object(
        {
          listeners: Type.Optional(Type.Array(ListenerInput, { maxItems: 256 })),
          pools: Type.Optional(Type.Array(PoolInput, { maxItems: 1000 })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export type HealthCheckInput = Static<typeof HealthCheckInput>;
export type BackendInput = Static<typeof BackendInput>;
export type BackendPatch = Static<typeof BackendPatch>;
export type PoolInput = Static<typeof PoolInput>;
export type RouteInput = Static<typeof RouteInput>;
export type ListenerInput = Static<typeof ListenerInput>;
export type ConfigFile = Static<typeof ConfigFile>;
export type AnySchema = TSchema;
export type RouteCacheInput = Static<typeof RouteCacheInput>;
export type SplitTargetInput = Static<typeof SplitTargetInput>;
