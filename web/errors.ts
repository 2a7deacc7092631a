// Typed errors of the web edge (WEB_ERR_*): decisions the API itself makes about a request.

export type WebErrorCode =
  | 'WEB_ERR_INVALID'
  | 'WEB_ERR_BAD_JSON'
  | 'WEB_ERR_UNAUTHORIZED'
  | 'WEB_ERR_LOGIN_FAILED'
  | 'WEB_ERR_FORBIDDEN'
  | 'WEB_ERR_CSRF'
  | 'WEB_ERR_NOT_FOUND'
  | 'WEB_ERR_CONFLICT'
  | 'WEB_ERR_TOO_LARGE'
  | 'WEB_ERR_MEDIA_TYPE'
  | 'WEB_ERR_RATE_LIMITED'
  | 'WEB_ERR_UNAVAILABLE'
  | 'WEB_ERR_INTERNAL';

export class WebError extends Error {
  readonly code: WebErrorCode;
  /** The request field at fault ('' when none). */
  readonly field: string;
  /** For WEB_ERR_RATE_LIMITED: seconds until a retry may succeed. */
  readonly retryAfterS: number | null;
  constructor(code: WebErrorCode, message: string, opts: { field?: string; retryAfterS?: number } = {}) {
    super(message);
    this.name = 'WebError';
    this.code = code;
    this.field = opts.field ?? '';
    this.retryAfterS = opts.retryAfterS ?? null;
  }
}
