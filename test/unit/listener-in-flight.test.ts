// The in-flight gauge a planned VIP move waits on, over real sockets: a fresh connection counts until
// its first request takes the count over, a request counts until its response is done, an idle
// keep-alive connection does not count, every open TCP-mode connection does; and the kernel-side count
// of work on the VIP read from `ss` output.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { afterEach, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { countPending } from '../../cluster/vip/vip-sockets.js';
import { HttpListener } from '../../lb/http/listener.js';
import { createDataPlaneMetrics, LISTENER_IN_FLIGHT } from '../../lb/metrics.js';
import { PoolRuntime } from '../../lb/pool.js';
import { TcpListener } from '../../lb/tcp/tcp-listener.js';
import type { ListenerSpec } from '../../lb/types.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function inFlight(registry: Registry): Promise<number> {
  const metric = registry.getSingleMetric(LISTENER_IN_FLIGHT);
  assert.ok(metric, 'the gauge is registered');
  return (await metric.get()).values.reduce((sum, v) => sum + v.value, 0);
}

/** Polls until the gauge reads `want` (bounded): socket events reach the listener asynchronously. */
async function expectInFlight(registry: Registry, want: number, what: string): Promise<void> {
  let seen = -1;
  for (let i = 0; i < 200; i++) {
    seen = await inFlight(registry);
    if (seen === want) return;
    await sleep(10);
  }
  assert.equal(seen, want, what);
}

/** A backend that answers only when told to. */
async function heldBackend(): Promise<{ port: number; release: () => void; waiting: () => number }> {
  const held: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    held.push(res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => {
    server.closeAllConnections();
    server.close();
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    release: () => {
      for (const res of held.splice(0)) res.end('ok');
    },
    waiting: () => held.length,
  };
}

function pool(port: number): PoolRuntime {
  return new PoolRuntime(
    {
      name: 'p',
      scheduler: 'round-robin',
      slowStartMs: 0,
      backends: [{ name: 'b1', host: '127.0.0.1', port, weight: 1, state: 'active', backup: false, maxConns: 0 }],
    },
    { now: Date.now },
  );
}

function spec(mode: 'http' | 'tcp'): ListenerSpec {
  return {
    name: 'web',
    mode,
    bind: { host: '127.0.0.1', port: 0 },
    routes: mode === 'http' ? [{ pathPrefix: '/', pool: 'p' }] : [],
    ...(mode === 'tcp' ? { pool: 'p' } : {}),
    maxConns: 0,
    timeouts: { connectMs: 1000, clientHeaderMs: 5000, responseHeaderMs: 5000, idleMs: 10_000 },
    retries: 0,
    maxHeaderBytes: 16 * 1024,
  };
}

async function connect(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  cleanups.push(() => socket.destroy());
  return socket;
}

async function readResponse(socket: net.Socket): Promise<string> {
  let text = '';
  for (let i = 0; i < 100 && !/\r\n\r\nok$/.test(text); i++) {
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    text += chunk.toString();
  }
  return text;
}

test('http: fresh connection, request, idle keep-alive, second request, close', { timeout: 30_000 }, async () => {
  const backend = await heldBackend();
  const registry = new Registry();
  const p = pool(backend.port);
  const lb = new HttpListener(spec('http'), { pools: () => p, metrics: createDataPlaneMetrics(registry), logger: pino({ level: 'silent' }) });
  await lb.start();
  cleanups.push(() => lb.destroy());
  await expectInFlight(registry, 0, 'nothing yet');

  const socket = await connect(lb.port());
  await expectInFlight(registry, 1, 'a connection that has not sent its request yet counts');
  socket.write('GET /a HTTP/1.1\r\nHost: x\r\n\r\n');
  for (let i = 0; i < 200 && backend.waiting() === 0; i++) await sleep(10);
  assert.equal(backend.waiting(), 1);
  await expectInFlight(registry, 1, 'its request took the count over (not 2)');
  const reading = readResponse(socket);
  backend.release();
  assert.match(await reading, /^HTTP\/1.1 200/);
  await expectInFlight(registry, 0, 'an idle keep-alive connection does not count');

  socket.write('GET /b HTTP/1.1\r\nHost: x\r\n\r\n');
  for (let i = 0; i < 200 && backend.waiting() === 0; i++) await sleep(10);
  await expectInFlight(registry, 1, 'a second request on it counts');
  const second = readResponse(socket);
  backend.release();
  assert.match(await second, /^HTTP\/1.1 200/);
  await expectInFlight(registry, 0, 'done again');

  const silent = await connect(lb.port());
  await expectInFlight(registry, 1, 'another fresh connection');
  silent.destroy();
  await expectInFlight(registry, 0, 'closed without a request: no longer counted, never negative');
  socket.destroy();
  await sleep(50);
  assert.equal(await inFlight(registry), 0);
});

test('tcp: every open connection is in flight', { timeout: 30_000 }, async () => {
  const backend = net.createServer((s) => s.pipe(s));
  backend.listen(0, '127.0.0.1');
  await once(backend, 'listening');
  cleanups.push(() => new Promise((r) => backend.close(r)));
  const registry = new Registry();
  const p = pool((backend.address() as net.AddressInfo).port);
  const lb = new TcpListener(spec('tcp'), { pools: () => p, metrics: createDataPlaneMetrics(registry), logger: pino({ level: 'silent' }) });
  await lb.start();
  cleanups.push(() => lb.destroy());
  const a = await connect(lb.port());
  const b = await connect(lb.port());
  await expectInFlight(registry, 2, 'two open connections');
  a.destroy();
  await expectInFlight(registry, 1, 'one closed');
  b.destroy();
  await expectInFlight(registry, 0, 'all closed');
});

test('countPending reads ss: half-open, accept queue, unacknowledged bytes on the VIP only', () => {
  const ss = [
    'LISTEN    3      511          0.0.0.0:8080        0.0.0.0:*',
    'LISTEN    2      511        127.0.0.1:9000        0.0.0.0:*',
    'LISTEN    1      511     198.18.0.100:8443        0.0.0.0:*',
    'SYN-RECV  0      0       198.18.0.100:8080    198.18.0.50:41000',
    'ESTAB     0      0       198.18.0.100:8080    198.18.0.50:41001',
    'ESTAB     0      1448    198.18.0.100:8080    198.18.0.50:41002',
    'FIN-WAIT-1 0     1       198.18.0.100:8080    198.18.0.50:41003',
    'ESTAB     0      9000     198.18.0.11:8080    198.18.0.50:41004',
    'TIME-WAIT 0      0       198.18.0.100:8080    198.18.0.50:41005',
    '',
  ].join('\n');
  // 3 queued on the wildcard + 1 queued on the VIP + 1 half-open + 2 owing bytes; not 127.0.0.1's queue, not .11's bytes.
  assert.equal(countPending(ss, '198.18.0.100'), 7);
  assert.equal(countPending('', '198.18.0.100'), 0);
});
