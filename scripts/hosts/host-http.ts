// HTTP requests made FROM a host (with that host's own `node`): the admin API usually listens on the
// node's private address or loopback, which the operator's machine may not reach, but SSH always does.
import { HostError } from './errors.js';
import type { Host } from './types.js';

export interface HostHttpRequest {
  method?: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  /** Sent as JSON. */
  body?: unknown;
  /** Bound on the request itself (the command gets a few seconds more for node's own start). */
  timeoutMs?: number;
}

export interface HostHttpResponse {
  /** HTTP status, or 0 when no response came (refused, reset, timed out). */
  status: number;
  body: string;
  /** Socket error code or "timeout" when status is 0. */
  error: string | null;
}

// Plain JavaScript for whatever node the host has (20+: global fetch); the request comes on stdin as JSON.
const SCRIPT = `
let s = '';
process.stdin.on('data', (d) => (s += d)).on('end', async () => {
  const r = JSON.parse(s);
  const out = (o) => process.stdout.write(JSON.stringify(o));
  try {
    const res = await fetch(r.url, { method: r.method, headers: r.headers, body: r.body, signal: AbortSignal.timeout(r.timeoutMs) });
    out({ status: res.status, body: await res.text(), error: null });
  } catch (e) {
    const c = e && e.cause;
    out({ status: 0, body: '', error: e && e.name === 'TimeoutError' ? 'timeout' : String((c && (c.code || c.message)) || e.message) });
  }
});
`;

/** Runs one HTTP request on `host`; resolves with status 0 (never rejects) when the server did not answer. */
export async function hostHttp(host: Host, req: HostHttpRequest): Promise<HostHttpResponse> {
  const timeoutMs = req.timeoutMs ?? 5000;
  const headers: Record<string, string> = { ...(req.headers ?? {}) };
  if (req.body !== undefined) headers['content-type'] = 'application/json';
  const input = JSON.stringify({
    url: req.url,
    method: req.method ?? 'GET',
    headers,
    body: req.body === undefined ? undefined : JSON.stringify(req.body),
    timeoutMs,
  });
  // Node itself can take seconds to start on a loaded VM under software emulation.
  const r = await host.exec('node', ['-e', SCRIPT], { input, timeoutMs: timeoutMs + 30_000 });
  try {
    return JSON.parse(r.stdout) as HostHttpResponse;
  } catch (err) {
    throw new HostError('HOST_ERR_COMMAND_FAILED', host.name, `http ${req.url}: unreadable answer ${JSON.stringify(r.stdout.slice(0, 200))}`, { cause: err });
  }
}

/** HTTP Basic credentials as a header. */
export function basicAuth(user: string, password: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}
