// JSON Schemas (TypeBox) of the edge protection settings of listeners and routes (issue 7): access
// rules, rate limits, the request filter, access logs and the PROXY protocol.
import { Type, type SchemaOptions, type Static } from '@sinclair/typebox';

function StringEnum<T extends readonly string[]>(values: T, options: SchemaOptions = {}) {
  return Type.Unsafe<T[number]>({ ...options, type: 'string', enum: [...values] });
}

export const Cidr = Type.String({
  minLength: 2,
  maxLength: 64,
  pattern: '^[0-9a-fA-F:.]+(/[0-9]{1,3})?$',
  errorMessage: 'must be an address or CIDR like 10.0.0.0/8 or 2001:db8::/32',
});
const CidrList = Type.Array(Cidr, { maxItems: 10_000 });

export const RATE_PATTERN = '^[0-9]+(\\.[0-9]+)?/(s|m|h)$';

export const AccessInput = Type.Object(
  { allow: Type.Optional(CidrList), deny: Type.Optional(CidrList) },
  { additionalProperties: false },
);

export const RateLimitInput = Type.Object(
  {
    key: StringEnum(['ip', 'header', 'route'] as const),
    header: Type.Optional(
      Type.String({ pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$", errorMessage: 'must be an HTTP header name like x-api-key' }),
    ),
    rate: Type.String({ pattern: RATE_PATTERN, errorMessage: 'must be a rate like 10/s, 600/m or 1000/h' }),
    burst: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    scope: Type.Optional(StringEnum(['node', 'cluster'] as const)),
  },
  { additionalProperties: false },
);

export const FilterInput = Type.Object(
  {
    mode: Type.Optional(StringEnum(['block', 'monitor'] as const)),
    disable: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 64 })),
    json: Type.Optional(Type.Boolean()),
    maxJsonBytes: Type.Optional(Type.Integer({ minimum: 2, maximum: 64 * 1024 * 1024 })),
  },
  { additionalProperties: false },
);

export const AccessLogInput = Type.Object(
  {
    format: Type.Optional(StringEnum(['json', 'combined'] as const)),
    path: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, errorMessage: 'must be "stdout" or a file path' })),
    sample: Type.Optional(Type.Number({ minimum: 0, maximum: 1, errorMessage: 'must be a fraction 0..1' })),
  },
  { additionalProperties: false },
);

/** Fields a route gets. */
export const RouteProtectionProps = {
  access: Type.Optional(AccessInput),
  rateLimits: Type.Optional(Type.Array(RateLimitInput, { maxItems: 16 })),
  filter: Type.Optional(FilterInput),
};

/** Fields a listener gets. */
export const ListenerProtectionProps = {
  ...RouteProtectionProps,
  accessLog: Type.Optional(AccessLogInput),
  acceptProxy: Type.Optional(Type.Boolean()),
  proxyFrom: Type.Optional(CidrList),
  sendProxy: Type.Optional(StringEnum(['v1', 'v2'] as const)),
  maxConnsPerIp: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
};

export type AccessInput = Static<typeof AccessInput>;
export type RateLimitInput = Static<typeof RateLimitInput>;
export type FilterInput = Static<typeof FilterInput>;
export type AccessLogInput = Static<typeof AccessLogInput>;
