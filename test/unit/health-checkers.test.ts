// The real tcp and http checkers against real servers on 127.0.0.1: verdicts, reasons, and no leaked sockets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { HttpChecker } from '../../lb/health/http-checker.js';
import { TcpChecker } from '../../lb/health/tcp-checker.js';
import type { CheckTarget } from '../../lb/health/types.js';
import type { HealthCheckSpec } from '../../lb/types.js';

const SPEC: HealthCheckSpec = {
  type: 'http',
  intervalMs: 1000,
  timeoutMs: 1000,
  rise: 2,
  fall: 3,
  fastIntervalMs: 1000,
  downIntervalMs: 1000,
  method: 'GET',
  path: '/health',
  expectStatus: [{ from: 200, to: 399 }],
};

interface Seen {
  method: string;
  url: string;
  host: string;
  connection: string;
}

interface Origin {
  port: number;
  /** Requests as the server saw them. */
  seen: Seen[];
  /** Connections accepted so far. */
  accepted: number;
  /** Connections the server still has open. */
  open: () => number;
  close: () => Promise<void>;
}

/** A real HTTP server on 127.0.0.1:0 with a handler per test; `null` from the handler means never answer. */
async function origin(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<Origin> {
  const sockets = new Set<net.Socket>();
  const o: Origin = {
    port: 0,
    seen: [],
    accepted: 0,
    open: () => sockets.size,
    close: async () => {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
  const server = http.createServer((req, res) => {
    o.seen.push({
      method: req.method ?? '',
      url: req.url ?? '',
      host: req.headers.host ?? '',
      connection: req.headers.connection ?? '',
    });
    handler(req, res);
  });
  server.on('connection', (s: net.Socket) => {
    o.accepted++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {}); // the checker resets its connections; that is expected here
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  o.port = (server.address() as net.AddressInfo).port;
  return o;
}

function target(port: number): CheckTarget {
  return { pool: 'web', backend: 'b1', host: '127.0.0.1', port };
}

/** Polls `predicate` every 10ms for at most `withinMs`. */
async function waitFor(predicate: () => boolean, withinMs: number, what: string): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!predicate()) {
    if (Date.now() > deadline) assert.fail(`not within ${withinMs}ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function tcpSocketHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
}

/** A port nothing listens on: bind one, then let it go. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  server.close();
  await once(server, 'close');
  return port;
}

const never = new AbortController().signal;

test('http: passes on an expected status, one fresh connection per check, with method, path and Host', async () => {
  const o = await origin((_req, res) => res.end('ok'));
  try {
    const checker = new HttpChecker();
    for (let i = 0; i < 3; i++) {
      const r = await checker.check(target(o.port), SPEC, never);
      assert.equal(r.ok, true);
      assert.equal(r.reason, 'status 200');
      assert.ok(r.durationMs >= 0 && r.durationMs < 1000);
    }
    await checker.check(target(o.port), { ...SPEC, method: 'HEAD', path: '/hc?x=1', host: 'api.example' }, never);
    assert.equal(o.accepted, 4, 'each check opened its own connection');
    assert.deepEqual(o.seen[0], { method: 'GET', url: '/health', host: `127.0.0.1:${o.port}`, connection: 'close' });
    assert.deepEqual(o.seen[3], { method: 'HEAD', url: '/hc?x=1', host: 'api.example', connection: 'close' });
    await waitFor(() => o.open() === 0, 2000, 'server sees every probe connection closed');
  } finally {
    await o.close();
  }
});

test('http: a status outside the expected ranges fails with the status and the ranges', async () => {
  const o = await origin((_req, res) => {
    res.statusCode = 503;
    res.end('busy');
  });
  try {
    const checker = new HttpChecker();
    const r = await checker.check(target(o.port), SPEC, never);
    assert.deepEqual([r.ok, r.reason], [false, 'status 503 not in 200-399']);
    const ranges = { ...SPEC, expectStatus: [{ from: 200, to: 200 }, { from: 204, to: 204 }, { from: 500, to: 502 }] };
    const r2 = await checker.check(target(o.port), ranges, never);
    assert.deepEqual([r2.ok, r2.reason], [false, 'status 503 not in 200,204,500-502']);
    const r3 = await checker.check(target(o.port), { ...SPEC, expectStatus: [{ from: 503, to: 503 }] }, never);
    assert.deepEqual([r3.ok, r3.reason], [true, 'status 503']);
  } finally {
    await o.close();
  }
});

test('http: expectBody as substring or /regex/flags', async () => {
  const o = await origin((_req, res) => res.end('status: OK\nversion: 3\n'));
  try {
    const checker = new HttpChecker();
    const handlesBefore = tcpSocketHandles();
    const check = (expectBody: string) => checker.check(target(o.port), { ...SPEC, expectBody }, never);
    assert.deepEqual(await check('version: 3').then((r) => [r.ok, r.reason]), [true, 'status 200']);
    assert.deepEqual(await check('ok').then((r) => [r.ok, r.reason]), [false, 'body does not contain "ok"']);
    assert.deepEqual(await check('/^status: ok$/im').then((r) => r.ok), true);
    assert.deepEqual(await check('/^status: ok$/m').then((r) => [r.ok, r.reason]), [
      false,
      'body does not match /^status: ok$/m',
    ]);
    assert.equal((await check('/status/g')).ok, true);
    assert.equal((await check('/status/g')).ok, true, 'a g flag does not make the test stateful');
    // Regression: resetting a socket node:http was already shutting down left its handle open
    // (and the event loop spinning) on Node 20.
    await waitFor(() => o.open() === 0, 2000, 'server sees every probe connection closed');
    await waitFor(() => tcpSocketHandles() <= handlesBefore, 2000, 'no client socket handle left');
  } finally {
    await o.close();
  }
});

test('http: reads at most maxBodyBytes of an endless body, then closes', async () => {
  let written = 0;
  const o = await origin((_req, res) => {
    const chunk = Buffer.alloc(16 * 1024, 'x');
    const pump = (): void => {
      // Writes until the client goes away; backpressure stops it between drains.
      while (!res.destroyed && res.write(chunk)) written += chunk.length;
      if (!res.destroyed) res.once('drain', pump);
    };
    res.on('error', () => {});
    pump();
  });
  try {
    const checker = new HttpChecker({ maxBodyBytes: 100_000 });
    const r = await checker.check(target(o.port), { ...SPEC, expectBody: 'needle', timeoutMs: 5000 }, never);
    assert.deepEqual([r.ok, r.reason], [false, 'body does not contain "needle" in its first 100000 bytes']);
    await waitFor(() => o.open() === 0, 2000, 'server sees the probe connection closed');
    assert.ok(written < 64 * 1024 * 1024, `server wrote ${written} bytes before the probe hung up`);
  } finally {
    await o.close();
  }
});

test('http: a backend that accepts but never answers fails by timeout and leaks no socket', async () => {
  const o = await origin(() => {}); // never answers
  try {
    const checker = new HttpChecker();
    const handlesBefore = tcpSocketHandles();
    const started = Date.now();
    const results = await Promise.all(
      Array.from({ length: 5 }, () => checker.check(target(o.port), { ...SPEC, timeoutMs: 300 }, never)),
    );
    const took = Date.now() - started;
    for (const r of results) assert.deepEqual([r.ok, r.reason], [false, 'timeout after 300ms']);
    assert.ok(took >= 290 && took < 3000, `took ${took}ms`);
    assert.equal(o.accepted, 5);
    await waitFor(() => o.open() === 0, 2000, 'server sees all 5 probe connections closed');
    await waitFor(() => tcpSocketHandles() <= handlesBefore, 2000, 'no client socket handle left');
  } finally {
    await o.close();
  }
});

test('http: aborting the signal ends the check at once and closes its socket', async () => {
  const o = await origin(() => {});
  try {
    const controller = new AbortController();
    const pending = new HttpChecker().check(target(o.port), { ...SPEC, timeoutMs: 10_000 }, controller.signal);
    await waitFor(() => o.accepted === 1, 2000, 'probe connected');
    const started = Date.now();
    controller.abort();
    const r = await pending;
    assert.deepEqual([r.ok, r.reason], [false, 'aborted']);
    assert.ok(Date.now() - started < 1000);
    await waitFor(() => o.open() === 0, 2000, 'server sees the probe connection closed');
  } finally {
    await o.close();
  }
});

test('http and tcp: a closed port fails with ECONNREFUSED', async () => {
  const port = await closedPort();
  const http1 = await new HttpChecker().check(target(port), SPEC, never);
  assert.deepEqual([http1.ok, http1.reason], [false, 'ECONNREFUSED']);
  const tcp = await new TcpChecker().check(target(port), { ...SPEC, type: 'tcp' }, never);
  assert.deepEqual([tcp.ok, tcp.reason], [false, 'ECONNREFUSED']);
});

test('tcp: passes when a connection is accepted, then closes it', async () => {
  const o = await origin(() => {});
  try {
    const handlesBefore = tcpSocketHandles();
    const r = await new TcpChecker().check(target(o.port), { ...SPEC, type: 'tcp' }, never);
    assert.deepEqual([r.ok, r.reason], [true, 'connected']);
    await waitFor(() => o.accepted === 1, 2000, 'server accepted the probe');
    await waitFor(() => o.open() === 0, 2000, 'server sees the probe connection closed');
    await waitFor(() => tcpSocketHandles() <= handlesBefore, 2000, 'no client socket handle left');
  } finally {
    await o.close();
  }
});

const hasPython = spawnSync('python3', ['-c', 'pass']).status === 0;

test('tcp: a listener whose accept queue is full fails by timeout', { skip: !hasPython && 'needs python3' }, async () => {
  // A socket that listens with backlog 0 and never accepts: once one connection waits in its
  // queue the kernel drops further SYNs, so a connect hangs until the checker gives up.
  const script = [
    'import socket, time',
    's = socket.socket()',
    's.bind(("127.0.0.1", 0))',
    's.listen(0)',
    'print(s.getsockname()[1], flush=True)',
    'time.sleep(20)',
  ].join('\n');
  const py = spawn('python3', ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const filler: net.Socket[] = [];
  try {
    const [data] = (await once(py.stdout, 'data')) as [Buffer];
    const port = Number(data.toString().trim());
    const first = net.connect(port, '127.0.0.1');
    filler.push(first);
    await once(first, 'connect');
    const handlesBefore = tcpSocketHandles();
    const r = await new TcpChecker().check(target(port), { ...SPEC, type: 'tcp', timeoutMs: 300 }, never);
    assert.deepEqual([r.ok, r.reason], [false, 'timeout after 300ms']);
    await waitFor(() => tcpSocketHandles() <= handlesBefore, 2000, 'no client socket handle left');
  } finally {
    for (const s of filler) s.destroy();
    py.kill();
  }
});
