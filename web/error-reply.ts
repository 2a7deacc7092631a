// The one place an error becomes an HTTP status and the `{ error: { code, message, field } }` body.
// Each layer keeps its own stable code (CONFIG_ERR_, STATE_ERR_, CLUSTER_ERR_, WEB_ERR_); only the
// status is decided here.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { ClusterError } from '../cluster/node/errors.js';
import { StateError } from '../cluster/state/errors.js';
import { ConfigError } from '../config/errors.js';
import { WebError, type WebErrorCode } from './errors.js';

export interface ErrorBody {
  error: { code: string; message: string; field: string };
}

const WEB_STATUS: Record<WebErrorCode, number> = {
  WEB_ERR_INVALID: 400,
  WEB_ERR_BAD_JSON: 400,
  WEB_ERR_UNAUTHORIZED: 401,
  WEB_ERR_LOGIN_FAILED: 401,
  WEB_ERR_FORBIDDEN: 403,
  WEB_ERR_CSRF: 403,
  WEB_ERR_NOT_FOUND: 404,
  WEB_ERR_CONFLICT: 409,
  WEB_ERR_TOO_LARGE: 413,
  WEB_ERR_MEDIA_TYPE: 415,
  WEB_ERR_RATE_LIMITED: 429,
  WEB_ERR_UNAVAILABLE: 503,
  WEB_ERR_INTERNAL: 500,
};

const STATE_STATUS: Record<StateError['code'], number> = {
  STATE_ERR_NOT_FOUND: 404,
  STATE_ERR_CONFLICT: 409,
  STATE_ERR_INVALID: 400,
};

const CLUSTER_STATUS: Record<ClusterError['code'], number> = {
  CLUSTER_ERR_NO_LEADER: 503,
  CLUSTER_ERR_TIMEOUT: 504,
  CLUSTER_ERR_STOPPING: 503,
};

/** fastify's own request errors, renamed into the web layer's codes. */
const FASTIFY_CODES: Record<string, WebErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'WEB_ERR_BAD_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'WEB_ERR_BAD_JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'WEB_ERR_TOO_LARGE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'WEB_ERR_INVALID',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'WEB_ERR_MEDIA_TYPE',
};

const FASTIFY_MESSAGES: Partial<Record<WebErrorCode, string>> = {
  WEB_ERR_BAD_JSON: 'the body is not valid JSON',
  WEB_ERR_TOO_LARGE: 'the body is too large',
  WEB_ERR_MEDIA_TYPE: 'send the body as application/json',
};

export function describeError(err: unknown): { status: number; body: ErrorBody; retryAfterS: number | null } {
  const body = (code: string, message: string, field = ''): ErrorBody => ({ error: { code, message, field } });
  if (err instanceof WebError) return { status: WEB_STATUS[err.code], body: body(err.code, err.message, err.field), retryAfterS: err.retryAfterS };
  if (err instanceof ConfigError) return { status: 400, body: body(err.code, err.message, err.field), retryAfterS: null };
  if (err instanceof StateError) return { status: STATE_STATUS[err.code], body: body(err.code, err.message, err.field), retryAfterS: null };
  if (err instanceof ClusterError) return { status: CLUSTER_STATUS[err.code], body: body(err.code, err.message), retryAfterS: err.code === 'CLUSTER_ERR_NO_LEADER' ? 1 : null };
  const fe = err as Partial<FastifyError>;
  const mapped = fe.code ? FASTIFY_CODES[fe.code] : undefined;
  if (mapped) {
    return { status: WEB_STATUS[mapped], body: body(mapped, FASTIFY_MESSAGES[mapped] ?? fe.message ?? mapped, 'body'), retryAfterS: null };
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return { status: fe.statusCode, body: body('WEB_ERR_INVALID', fe.message ?? 'bad request'), retryAfterS: null };
  }
  return { status: 500, body: body('WEB_ERR_INTERNAL', 'internal error; see the node log'), retryAfterS: null };
}

export function errorHandler(logger: Logger) {
  return (err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    const { status, body, retryAfterS } = describeError(err);
    if (status >= 500) logger.error({ err, method: req.method, url: req.url }, 'admin request failed');
    if (retryAfterS !== null) void reply.header('retry-after', String(retryAfterS));
    if (status === 401) void reply.header('www-authenticate', 'Bearer realm="ballast"');
    return reply.code(status).send(body);
  };
}
