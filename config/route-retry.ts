// Per-route retries and timeouts (issue 7): their input schema, normalization into the route spec,
// and the read-back in input form.
import { Type, type SchemaOptions, type Static } from '@sinclair/typebox';
import { IDEMPOTENT_METHODS } from '../lb/http/retry-policy.js';
import type { RetryCondition, RouteRetrySpec, RouteSpec, RouteTimeoutsSpec } from '../lb/types.js';
import { DURATION_PATTERN, formatDuration, parseDuration } from './duration.js';
import { ConfigError } from './errors.js';

function StringEnum<T extends readonly string[]>(values: T, options: SchemaOptions = {}) {
  return Type.Unsafe<T[number]>({ ...options, type: 'string', enum: [...values] });
}

export const RETRY_CONDITIONS = ['connect-failure', 'reset', '5xx', 'timeout'] as const satisfies readonly RetryCondition[];
/** A route `retry` without `on`: the listener's behaviour (nothing reached a backend, or it hung up before answering). */
const DEFAULT_ON: RetryCondition[] = ['connect-failure', 'reset'];

const Duration = Type.String({ pattern: DURATION_PATTERN, errorMessage: 'must be a duration like 500ms, 2s or 1m' });

export const RouteRetryInput = Type.Object(
  {
    attempts: Type.Integer({ minimum: 0, maximum: 10 }),
    on: Type.Optional(Type.Array(StringEnum(RETRY_CONDITIONS), { minItems: 1, maxItems: 4, uniqueItems: true })),
    methods: Type.Optional(
      Type.Array(Type.String({ pattern: '^[A-Z]{1,20}$', errorMessage: 'must be an upper-case method name like GET' }), {
        minItems: 1,
        maxItems: 16,
        uniqueItems: true,
      }),
    ),
  },
  { additionalProperties: false },
);

export const RouteTimeoutsInput = Type.Object(
  { responseHeader: Type.Optional(Duration), idle: Type.Optional(Duration) },
  { additionalProperties: false, minProperties: 1, errorMessage: 'must set responseHeader or idle' },
);

/** Fields spread into the route input schema. */
export const RouteRetryProps = {
  retry: Type.Optional(RouteRetryInput),
  timeouts: Type.Optional(RouteTimeoutsInput),
};

export type RouteRetryInput = Static<typeof RouteRetryInput>;
export type RouteTimeoutsInput = Static<typeof RouteTimeoutsInput>;

function invalid(field: string, reason: string): ConfigError {
  return new ConfigError('CONFIG_ERR_INVALID', field, reason);
}

function positive(text: string, field: string): number {
  const ms = parseDuration(text);
  if (ms <= 0) throw invalid(field, 'must be above 0');
  return ms;
}

/** Adds `retry` and `timeouts` of a schema-valid route input onto its spec. */
export function applyRouteRetry(input: { retry?: RouteRetryInput; timeouts?: RouteTimeoutsInput }, spec: RouteSpec, field: string): void {
  if (input.retry !== undefined) {
    const r = input.retry;
    const retry: RouteRetrySpec = { attempts: r.attempts, on: [...(r.on ?? DEFAULT_ON)], methods: [...(r.methods ?? IDEMPOTENT_METHODS)] };
    if (r.methods !== undefined && !retry.on.some((c) => c !== 'connect-failure')) {
      throw invalid(`${field}.retry.methods`, 'only matters with an `on` beyond connect-failure (reset, 5xx or timeout)');
    }
    spec.retry = retry;
  }
  if (input.timeouts !== undefined) {
    const t: RouteTimeoutsSpec = {};
    if (input.timeouts.responseHeader !== undefined) t.responseHeaderMs = positive(input.timeouts.responseHeader, `${field}.timeouts.responseHeader`);
    if (input.timeouts.idle !== undefined) t.idleMs = positive(input.timeouts.idle, `${field}.timeouts.idle`);
    spec.timeouts = t;
  }
}

/** The route's retry and timeouts in input form (a GET body PUTs back unchanged). */
export function routeRetryInput(r: RouteSpec): { retry?: RouteRetryInput; timeouts?: RouteTimeoutsInput } {
  const out: { retry?: RouteRetryInput; timeouts?: RouteTimeoutsInput } = {};
  if (r.retry !== undefined) out.retry = { attempts: r.retry.attempts, on: [...r.retry.on], methods: [...r.retry.methods] };
  if (r.timeouts !== undefined) {
    const t: RouteTimeoutsInput = {};
    if (r.timeouts.responseHeaderMs !== undefined) t.responseHeader = formatDuration(r.timeouts.responseHeaderMs);
    if (r.timeouts.idleMs !== undefined) t.idle = formatDuration(r.timeouts.idleMs);
    out.timeouts = t;
  }
  return out;
}
