// How a probe ends its connection and names a socket error, shared by the tcp and http checkers.
import type { Socket } from 'node:net';

/**
 * Closes a probe connection at once. A connected socket is reset (RST) rather than ended, as
 * HAProxy does for checks: the probe has nothing more to say, and an orderly close would leave a
 * TIME_WAIT entry on the balancer for every check (hundreds a second with many backends).
 */
export function closeProbeSocket(socket: Socket): void {
  if (socket.destroyed) return;
  if (socket.readyState === 'open' || socket.readyState === 'readOnly' || socket.readyState === 'writeOnly') {
    socket.resetAndDestroy();
  } else {
    socket.destroy();
  }
}

/** `ECONNREFUSED`, `EHOSTUNREACH`, ...: the errno code when there is one, else the message. */
export function socketErrorReason(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  return typeof code === 'string' && code.length > 0 ? code : err.message;
}
