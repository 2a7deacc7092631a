// Benchmark origins, run as their own child process: N HTTP servers answering a fixed 1 KiB body
// with keep-alive, and N TCP sinks that swallow a stream and answer its byte count on FIN.
// Exits when its parent goes away, so it can never outlive the benchmark.
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer } from 'node:net';
import type { OriginsReady } from './types.js';

const HOST = '127.0.0.1';
const COUNT = Number(process.env['BENCH_ORIGINS'] ?? '3');
const BODY = Buffer.alloc(1024, 'x');
const CACHED_PREFIX = '/cached/';

function httpOrigin(name: string): HttpServer {
  const headers = { 'content-type': 'text/plain', 'content-length': String(BODY.length), 'x-origin': name };
  // The same body under /cached/, marked cacheable, for the cache scenario (Ballast vs nginx).
  const cacheable = { ...headers, 'cache-control': 'public, max-age=3600' };
  const server = createHttpServer((req, res) => {
    // Drain any request body so keep-alive connections stay usable.
    req.resume();
    res.writeHead(200, req.url?.startsWith(CACHED_PREFIX) === true ? cacheable : headers).end(BODY);
  });
  // Longer than any load balancer's pooled idle connection, so the origin is never the one to cut it.
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 125_000;
  server.requestTimeout = 0;
  server.maxRequestsPerSocket = 0;
  return server;
}

function tcpSink(): TcpServer {
  return createTcpServer({ allowHalfOpen: true }, (socket) => {
    let bytes = 0;
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    socket.on('end', () => socket.end(`${bytes}\n`));
    socket.on('error', () => socket.destroy());
  });
}

function listen(server: HttpServer | TcpServer): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: HOST, port: 0, backlog: 4096 }, () => resolve((server.address() as AddressInfo).port));
  });
}

async function main(): Promise<void> {
  const https = Array.from({ length: COUNT }, (_, i) => httpOrigin(`o${i + 1}`));
  const sinks = Array.from({ length: COUNT }, () => tcpSink());
  const ready: OriginsReady = {
    type: 'ready',
    http: await Promise.all(https.map(listen)),
    sinks: await Promise.all(sinks.map(listen)),
  };
  if (!process.send) throw new Error('origin-server must be started with an IPC channel');
  process.send(ready);
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
}

main().catch((err: unknown) => {
  process.stderr.write(`origin-server: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
