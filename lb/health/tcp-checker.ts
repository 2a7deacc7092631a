// The TCP connect probe: a backend passes when a new connection is accepted within the timeout.
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { HealthCheckSpec } from '../types.js';
import type { CheckResult, CheckTarget, Checker } from './types.js';
import { closeProbeSocket, socketErrorReason } from './probe-socket.js';

export class TcpChecker implements Checker {
  check(target: CheckTarget, spec: HealthCheckSpec, signal: AbortSignal): Promise<CheckResult> {
    const started = performance.now();
    return new Promise<CheckResult>((resolve) => {
      const socket = net.connect({ host: target.host, port: target.port });
      let done = false;
      const finish = (ok: boolean, reason: string): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        closeProbeSocket(socket);
        resolve({ ok, reason, durationMs: performance.now() - started });
      };
      const onAbort = (): void => finish(false, 'aborted');
      const timer = setTimeout(() => finish(false, `timeout after ${spec.timeoutMs}ms`), spec.timeoutMs);
      // A late error (e.g. after the RST we send) must not become an uncaught 'error' event.
      socket.on('error', (err) => finish(false, socketErrorReason(err)));
      socket.once('connect', () => finish(true, 'connected'));
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
