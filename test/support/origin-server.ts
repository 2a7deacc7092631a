// Real origin servers for tests: HTTP apps that say who answered, count what they saw, can be
// slowed per request (/slow?ms=N) and killed abruptly.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface Origin {
  name: string;
  port: number;
  address: string;
  server: Server;
  /** Requests seen, in arrival order. */
  seen: IncomingMessage[];
  /** Requests currently being answered. */
  inFlight(): number;
  /** Stop listening and reset every open connection (a crash, from the client's view). */
  kill(): Promise<void>;
  close(): Promise<void>;
}

export async function startOrigin(name: string, opts: { host?: string; port?: number; delayMs?: number } = {}): Promise<Origin> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 0;
  const sockets = new Set<Socket>();
  const seen: IncomingMessage[] = [];
  let inFlight = 0;
  const server = createServer((req, res) => {
    seen.push(req);
    inFlight++;
    res.on('close', () => inFlight--);
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/health') {
      res.writeHead(200).end('ok');
      return;
    }
    const delay = url.pathname === '/slow' ? Number(url.searchParams.get('ms') ?? '1000') : (opts.delayMs ?? 0);
    const reply = () => {
      if (res.destroyed) return;
      res.writeHead(200, { 'content-type': 'text/plain', 'x-origin': name }).end(name);
    };
    req.resume();
    req.on('end', () => (delay > 0 ? setTimeout(reply, delay) : reply()));
  });
  server.keepAliveTimeout = 30_000;
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    name,
    port: bound,
    address: `${host}:${bound}`,
    server,
    seen,
    inFlight: () => inFlight,
    kill: async () => {
      const closed = new Promise<void>((r) => server.close(() => r()));
      for (const s of sockets) s.resetAndDestroy();
      await closed;
    },
    close: async () => {
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await closed;
    },
  };
}
