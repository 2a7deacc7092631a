// An origin server whose responses a test scripts per path (status, headers, body, delay), and
// which counts and records every request it receives: for cache, coalescing and revalidation tests.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ScriptedReply {
  status?: number;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
  delayMs?: number;
}

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

export interface ScriptedOrigin {
  address: string;
  seen: SeenRequest[];
  /** Requests seen for one path (query included). */
  count(url: string): number;
  close(): Promise<void>;
}

/** `script(req, n)` answers the n-th (1-based) request for that URL. */
export async function startScriptedOrigin(script: (req: SeenRequest, n: number) => ScriptedReply): Promise<ScriptedOrigin> {
  const seen: SeenRequest[] = [];
  const perUrl = new Map<string, number>();
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    const r: SeenRequest = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers };
    seen.push(r);
    const n = (perUrl.get(r.url) ?? 0) + 1;
    perUrl.set(r.url, n);
    const reply = script(r, n);
    req.resume();
    req.on('end', () => {
      const send = (): void => {
        if (res.destroyed) return;
        res.writeHead(reply.status ?? 200, { 'content-type': 'text/plain', ...(reply.headers ?? {}) });
        res.end(r.method === 'HEAD' ? undefined : (reply.body ?? ''));
      };
      if ((reply.delayMs ?? 0) > 0) setTimeout(send, reply.delayMs);
      else send();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const port = (server.address() as AddressInfo).port;
  return {
    address: `127.0.0.1:${port}`,
    seen,
    count: (url) => perUrl.get(url) ?? 0,
    close: async () => {
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await closed;
    },
  };
}
