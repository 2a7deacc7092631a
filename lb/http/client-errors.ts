// Requests refused before routing: node's client-side parse and deadline errors, and a request
// with more than one Host line.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { rawReply } from './local-reply.js';

/** What a client-side parse or deadline error becomes on the wire (node's own mapping). */
const CLIENT_ERROR_REPLIES: Readonly<Record<string, { status: number; body: string }>> = {
  HPE_HEADER_OVERFLOW: { status: 431, body: 'request header block too large' },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: { status: 413, body: 'chunk extensions too large' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, body: 'request headers not received in time' },
};
const MALFORMED = { status: 400, body: 'malformed request' };

/**
 * RFC 9112 3.2: more than one Host line is a 400. node accepts it, and the backend could then
 * pick a different Host than the one we routed on.
 */
export function hasOneHostAtMost(raw: readonly string[]): boolean {
  let seen = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]?.toLowerCase() === 'host') seen += 1;
  return seen <= 1;
}
export const DUPLICATE_HOST = 'more than one Host header';

/**
 * Answers a client error on `socket` and closes it; returns the status sent, or null when the
 * socket was only destroyed. Mirrors node's default handler (which a listener replaces): answer
 * only when no response of ours is in flight on this socket, so a pipelined reply is never corrupted.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Socket): number | null {
  if (err.code === 'ECONNRESET' || err.code === 'EPIPE') {
    socket.destroy();
    return null;
  }
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
  if (socket.writable && (inFlight === undefined || inFlight === null || inFlight.headersSent !== true)) {
    const { status, body } = (err.code === undefined ? undefined : CLIENT_ERROR_REPLIES[err.code]) ?? MALFORMED;
    socket.end(rawReply(status, STATUS_CODES[status] ?? 'Error', body), () => socket.destroy());
    return status;
  }
  socket.destroy();
  return null;
}
