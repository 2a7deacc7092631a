// The "node floor" target: the least a Node.js balancer can do with Ballast's process model
// (node:cluster, SCHED_NONE, one worker per core), run as its own child process. HTTP: node:http
// server -> undici Pool#dispatch round-robin, headers passed through as they are; TCP: pipe() both
// ways. No routing, metrics, header rewriting, timeouts or retries: what Ballast costs beyond this
// is Ballast's own code, what this costs beyond HAProxy is the runtime.
// Configured by BENCH_FLOOR (JSON: { httpPort, tcpPort, origins: number[], sinks: number[], workers }).
import cluster from 'node:cluster';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer as createTcpServer } from 'node:net';
import { Pool, type Dispatcher } from 'undici';

interface FloorConfig {
  httpPort: number;
  tcpPort: number;
  origins: number[];
  sinks: number[];
  workers: number;
}

const HOST = '127.0.0.1';
const HOP_BY_HOP = ['connection', 'keep-alive', 'transfer-encoding', 'upgrade'];
const config = JSON.parse(process.env['BENCH_FLOOR'] ?? '{}') as FloorConfig;

function serveHttp(): void {
  // Same pool settings as Ballast's upstream pools (lb/http/upstream-pools.ts).
  const pools = config.origins.map((port) => new Pool(`http://${HOST}:${port}`, { connections: null, pipelining: 1 }));
  let next = 0;
  const server = createHttpServer((req, res) => {
    const pool = pools[next++ % pools.length];
    if (!pool) {
      res.writeHead(503).end();
      return;
    }
    const handler: Dispatcher.DispatchHandler = {
      // Its presence selects undici's controller-style handler API.
      onRequestStart: () => undefined,
      onResponseStart: (_c, status, headers) => {
        // Hop-by-hop: node's server decides its own connection handling (Connection: close).
        const out = { ...headers } as Record<string, string | string[]>;
        for (const h of HOP_BY_HOP) delete out[h];
        res.writeHead(status, out);
      },
      onResponseData: (c, chunk) => {
        if (!res.write(chunk)) {
          c.pause();
          res.once('drain', () => c.resume());
        }
      },
      onResponseEnd: () => {
        res.end();
      },
      onResponseError: () => {
        res.destroy();
      },
    };
    const headers = { ...req.headers };
    for (const h of HOP_BY_HOP) delete headers[h];
    pool.dispatch({ path: req.url ?? '/', method: req.method ?? 'GET', headers, body: null }, handler);
  });
  server.keepAliveTimeout = 60_000;
  server.listen(config.httpPort, HOST);
}

function serveTcp(): void {
  let next = 0;
  createTcpServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) => {
    const port = config.sinks[next++ % config.sinks.length] ?? 0;
    const backend = connect({ host: HOST, port, allowHalfOpen: true });
    client.on('error', () => backend.destroy());
    backend.on('error', () => client.destroy());
    backend.once('connect', () => {
      client.pipe(backend);
      backend.pipe(client);
      client.resume();
    });
  }).listen(config.tcpPort, HOST);
}

if (cluster.isPrimary) {
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  for (let i = 0; i < config.workers; i++) cluster.fork();
  const stop = () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  // Started with an IPC channel: when the benchmark goes, so do we.
  process.on('disconnect', stop);
} else {
  serveHttp();
  serveTcp();
}
