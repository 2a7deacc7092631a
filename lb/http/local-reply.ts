// Responses the balancer writes itself: status and metric kind decided from an LbError code.
import type { LbError, LbErrorCode } from '../errors.js';
import type { ClientResponse, ProxyErrorKind } from './types.js';

/** HTTP status for each data-plane failure; this engine is the edge where status is decided. */
export function statusFor(code: LbErrorCode): number {
  switch (code) {
    case 'LB_ERR_NO_ROUTE':
      return 404;
    case 'LB_ERR_NO_BACKEND':
    case 'LB_ERR_LIMIT_REACHED':
      return 503;
    case 'LB_ERR_CONNECT_FAILED':
    case 'LB_ERR_CONNECT_TIMEOUT':
    case 'LB_ERR_BACKEND_RESET':
      return 502;
    case 'LB_ERR_RESPONSE_TIMEOUT':
      return 504;
    case 'LB_ERR_LISTEN_FAILED':
      return 500;
    default: {
      const unreachable: never = code;
      throw new Error(`unhandled code ${String(unreachable)}`);
    }
  }
}

export function kindFor(code: LbErrorCode): ProxyErrorKind | undefined {
  switch (code) {
    case 'LB_ERR_NO_ROUTE':
      return 'no_route';
    case 'LB_ERR_NO_BACKEND':
      return 'no_backend';
    case 'LB_ERR_CONNECT_FAILED':
      return 'connect_failed';
    case 'LB_ERR_CONNECT_TIMEOUT':
      return 'connect_timeout';
    case 'LB_ERR_RESPONSE_TIMEOUT':
      return 'response_timeout';
    case 'LB_ERR_BACKEND_RESET':
      return 'backend_reset';
    case 'LB_ERR_LIMIT_REACHED':
      return 'limit';
    case 'LB_ERR_LISTEN_FAILED':
      return undefined;
    default: {
      const unreachable: never = code;
      throw new Error(`unhandled code ${String(unreachable)}`);
    }
  }
}

/** Short plain-text reply whose body is the error message; cuts the connection once headers went out. */
export function sendLocalReply(res: ClientResponse, err: LbError): void {
  sendPlain(res, statusFor(err.code), err.message);
}

export function sendPlain(res: ClientResponse, status: number, body: string): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(body);
}

/** The plain-text bytes for a reply written on a raw socket (upgrade path, client errors). */
export function rawReply(status: number, reason: string, body: string): string {
  return (
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}
