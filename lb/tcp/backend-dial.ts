// Dialing a backend for one client connection: connect timeout, then retries on other eligible backends.
import { connect, type Socket } from 'node:net';
import type { BackendLease, PoolPicker } from '../types.js';
import type { DialFailure, DialOptions, DialResult } from './types.js';

type Attempt =
  | { kind: 'connected'; socket: Socket }
  | { kind: 'connect_failed'; error: Error }
  | { kind: 'connect_timeout' }
  | { kind: 'aborted' };

/**
 * Acquire a backend from `pool` and connect to it; on failure release the lease as a
 * connect-failure and try another backend (never one already tried), up to `retries` more times.
 */
export async function dialBackend(pool: PoolPicker, opts: DialOptions): Promise<DialResult> {
  const tried = new Set<string>();
  let last: DialFailure = 'no_backend';
  for (let attempt = 0; attempt <= opts.retries; attempt++) {
    if (opts.signal.aborted) return { kind: 'aborted' };
    const lease = pool.acquire(opts.clientIp, tried);
    if (lease === undefined) break;
    const result = await connectOnce(lease, opts.connectMs, opts.signal);
    switch (result.kind) {
      case 'connected':
        return { kind: 'connected', socket: result.socket, lease };
      case 'aborted':
        // Our side gave up, not the backend: nothing to hold against it.
        lease.release('ok');
        return { kind: 'aborted' };
      case 'connect_failed':
      case 'connect_timeout':
        lease.release('connect-failure');
        opts.onAttemptFailed(lease, result.kind, result.kind === 'connect_failed' ? result.error : undefined);
        tried.add(lease.backend);
        last = result.kind;
        break;
      default: {
        const never: never = result;
        throw new TypeError(`unknown dial attempt: ${String(never)}`);
      }
    }
  }
  return { kind: 'failed', reason: last };
}

function connectOnce(lease: BackendLease, connectMs: number, signal: AbortSignal): Promise<Attempt> {
  return new Promise((resolve) => {
    let socket: Socket;
    try {
      socket = connect({ host: lease.host, port: lease.port, allowHalfOpen: true, noDelay: true });
    } catch (err) {
      // Bad host/port values throw synchronously instead of emitting 'error'.
      resolve({ kind: 'connect_failed', error: err as Error });
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const settle = (attempt: Attempt): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.off('connect', onConnect);
      socket.off('error', onError);
      if (attempt.kind !== 'connected') {
        // A socket we abandon may still report an error; it must not crash the worker.
        socket.on('error', () => undefined);
        socket.destroy();
      }
      resolve(attempt);
    };
    const onConnect = (): void => settle({ kind: 'connected', socket });
    const onError = (error: Error): void => settle({ kind: 'connect_failed', error });
    const onAbort = (): void => settle({ kind: 'aborted' });
    socket.once('connect', onConnect);
    socket.once('error', onError);
    signal.addEventListener('abort', onAbort, { once: true });
    if (connectMs > 0) timer = setTimeout(() => settle({ kind: 'connect_timeout' }), connectMs);
  });
}
