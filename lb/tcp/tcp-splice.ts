// Splicing a client socket to a backend socket: both directions with backpressure, half-close,
// one idle timer for the pair, and errors on either side tearing down the other.
import type { Socket } from 'node:net';
import type { SpliceEnd, SpliceOptions } from './types.js';

/**
 * Start moving bytes between `client` and `backend` (both created with allowHalfOpen; the
 * client may be paused). `opts.onEnd` runs once, after both sockets have closed.
 */
export function splice(client: Socket, backend: Socket, opts: SpliceOptions): void {
  const end: SpliceEnd = { clientBytes: 0, backendBytes: 0, clientError: undefined, backendError: undefined, idle: false };
  let open = 2;
  // One timer for the pair rather than socket.setTimeout on each: a connection whose bytes flow
  // one way only is not idle, though one of its sockets never reads.
  const idle =
    opts.idleMs > 0
      ? setTimeout(() => {
          end.idle = true;
          client.destroy();
          backend.destroy();
        }, opts.idleMs)
      : undefined;
  const touch = (): void => {
    idle?.refresh();
  };

  pump(client, backend, touch, (n) => {
    end.clientBytes += n;
    opts.onClientBytes(n);
  });
  pump(backend, client, touch, (n) => {
    end.backendBytes += n;
    opts.onBackendBytes(n);
  });

  client.on('error', (err) => {
    end.clientError ??= err;
    backend.destroy();
  });
  backend.on('error', (err) => {
    end.backendError ??= err;
    client.destroy();
  });

  const onClose = (other: Socket) => (): void => {
    // A clean close implies the peer's readable side has ended already. Otherwise this side was
    // destroyed, and whatever the peer still sends would have nowhere to go.
    if (!other.readableEnded) other.destroy();
    if (--open === 0) {
      clearTimeout(idle);
      opts.onEnd(end);
    }
  };
  client.once('close', onClose(backend));
  backend.once('close', onClose(client));

  client.resume();
  backend.resume();
}

/** One direction: stop reading while the writer is full, resume on 'drain'; forward FIN as end(). */
function pump(from: Socket, to: Socket, touch: () => void, count: (n: number) => void): void {
  from.on('data', (chunk: Buffer) => {
    count(chunk.length);
    touch();
    if (to.destroyed) return;
    if (!to.write(chunk)) from.pause();
  });
  to.on('drain', () => {
    touch();
    from.resume();
  });
  from.on('end', () => {
    if (!to.destroyed) to.end();
  });
}
