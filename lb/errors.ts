// Typed data-plane errors with stable codes (LB_ERR_*); HTTP status is decided at the edge.

export type LbErrorCode =
  | 'LB_ERR_NO_ROUTE'
  | 'LB_ERR_NO_BACKEND'
  | 'LB_ERR_CONNECT_FAILED'
  | 'LB_ERR_CONNECT_TIMEOUT'
  | 'LB_ERR_RESPONSE_TIMEOUT'
  | 'LB_ERR_BACKEND_RESET'
  | 'LB_ERR_LISTEN_FAILED'
  | 'LB_ERR_LIMIT_REACHED';

export class LbError extends Error {
  readonly code: LbErrorCode;
  constructor(code: LbErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LbError';
    this.code = code;
  }
}
