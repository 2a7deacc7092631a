// How a probe ends its connection and names a socket error, shared by the tcp and http checkers.
import type { Socket } from 'node:net';

/**
 * Closes a probe connection at once. A connected socket is reset (RST) rather than ended, as
 * HAProxy does for checks: the probe has nothing more to say, and an orderly close would leave a
 * TIME_WAIT entry on the balancer for every check (hundreds a second with many backends).
 */
export function closeProbeSocket(socket: Socket): void {
  if (socket.destroyed) return;
  // Only a fully open socket is reset. Once our side has ended (node:http ends a `Connection:
  // close` socket itself when the response completes), a reset racing that pending shutdown left
  // the handle open for good, with the event loop busy, on Node 20 (see the expectBody test);
  // such a socket is already closing in order.
  if (socket.readyState === 'open' && !socket.writableEnded) socket.resetAndDestroy();
  else socket.destroy();
}

/** `ECONNREFUSED`, `EHOSTUNREACH`, ...: the errno code when there is one, else the message. */
export function socketErrorReason(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  return typeof code === 'string' && code.length > 0 ? code : err.message;
}
