// The HTTP probe: one request on a fresh connection, judged by status range and optionally body.
import http from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { HealthCheckSpec, StatusRange } from '../types.js';
import { parseBodyExpectation, type BodyExpectation } from './expect-body.js';
import { closeProbeSocket, socketErrorReason } from './probe-socket.js';
import type { CheckResult, CheckTarget, Checker } from './types.js';

export interface HttpCheckerOptions {
  /** Most body bytes read when matching expectBody; the rest is never read. Default 64 KiB. */
  maxBodyBytes?: number;
  userAgent?: string;
}

const DEFAULT_STATUS: StatusRange[] = [{ from: 200, to: 399 }];

export function formatStatusRanges(ranges: readonly StatusRange[]): string {
  return ranges.map((r) => (r.from === r.to ? String(r.from) : `${r.from}-${r.to}`)).join(',');
}

/**
 * node:http with `agent: false` opens a fresh connection per check, never reused. That is the
 * point: a check must prove the backend still accepts new connections, and a pooled keep-alive
 * socket can keep answering after the listener is gone (or the accept queue is full), hiding the
 * failure new client connections would hit. undici's pooling is built for the opposite.
 */
export class HttpChecker implements Checker {
  readonly #maxBodyBytes: number;
  readonly #userAgent: string;
  readonly #expectations = new Map<string, BodyExpectation>();

  constructor(options: HttpCheckerOptions = {}) {
    this.#maxBodyBytes = options.maxBodyBytes ?? 64 * 1024;
    this.#userAgent = options.userAgent ?? 'ballast-health/1';
  }

  check(target: CheckTarget, spec: HealthCheckSpec, signal: AbortSignal): Promise<CheckResult> {
    const started = performance.now();
    const expectStatus = spec.expectStatus.length > 0 ? spec.expectStatus : DEFAULT_STATUS;
    let expectBody: BodyExpectation | undefined;
    try {
      expectBody = spec.expectBody === undefined ? undefined : this.#expectation(spec.expectBody);
    } catch (err) {
      const reason = `invalid expectBody ${spec.expectBody}: ${(err as Error).message}`;
      return Promise.resolve({ ok: false, reason, durationMs: 0 });
    }

    return new Promise<CheckResult>((resolve) => {
      let socket: Socket | undefined;
      let done = false;
      let req: http.ClientRequest;
      try {
        req = http.request({
          host: target.host,
          port: target.port,
          method: spec.method === '' ? 'GET' : spec.method,
          path: spec.path === '' ? '/' : spec.path,
          agent: false,
          headers: {
            host: spec.host ?? hostHeader(target),
            'user-agent': this.#userAgent,
            accept: '*/*',
            connection: 'close',
          },
        });
      } catch (err) {
        // An invalid method or path throws before any socket exists.
        resolve({ ok: false, reason: (err as Error).message, durationMs: performance.now() - started });
        return;
      }
      const finish = (ok: boolean, reason: string): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        if (socket) closeProbeSocket(socket);
        req.destroy();
        resolve({ ok, reason, durationMs: performance.now() - started });
      };
      const onAbort = (): void => finish(false, 'aborted');
      const timer = setTimeout(() => finish(false, `timeout after ${spec.timeoutMs}ms`), spec.timeoutMs);

      req.on('socket', (s) => {
        socket = s;
      });
      req.on('error', (err) => finish(false, socketErrorReason(err)));
      req.on('response', (res) => {
        res.on('error', (err) => finish(false, socketErrorReason(err)));
        const status = res.statusCode ?? 0;
        if (!expectStatus.some((r) => status >= r.from && status <= r.to)) {
          finish(false, `status ${status} not in ${formatStatusRanges(expectStatus)}`);
          return;
        }
        if (!expectBody) {
          finish(true, `status ${status}`);
          return;
        }
        const rule = expectBody;
        const chunks: Buffer[] = [];
        let size = 0;
        const judge = (truncated: boolean): void => {
          const body = Buffer.concat(chunks, size).toString('utf8');
          if (rule.test(body)) finish(true, `status ${status}`);
          else if (truncated) finish(false, `body does not ${rule.describe} in its first ${size} bytes`);
          else finish(false, `body does not ${rule.describe}`);
        };
        res.on('data', (chunk: Buffer) => {
          const room = this.#maxBodyBytes - size;
          const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
          chunks.push(kept);
          size += kept.length;
          if (size >= this.#maxBodyBytes) judge(true);
        });
        res.on('end', () => judge(false));
      });
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      req.end();
    });
  }

  #expectation(rule: string): BodyExpectation {
    let parsed = this.#expectations.get(rule);
    if (!parsed) {
      parsed = parseBodyExpectation(rule);
      this.#expectations.set(rule, parsed);
    }
    return parsed;
  }
}

function hostHeader(target: CheckTarget): string {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return target.port === 80 ? host : `${host}:${target.port}`;
}
