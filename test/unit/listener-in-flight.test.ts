// The in-flight gauge a planned VIP move waits on, over real sockets: a fresh connection counts until
// its first request takes the count over, a request counts until its response is done, an idle
// keep-alive connection does not count, every open TCP-mode connection does; and the kernel-side count
// of work on the VIP read from `ss` output.
import assert from 'node:assert/strict';
import { once } from 'node:events';
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
import { startHeldOrigin, type HeldOrigin } from '../support/held-origin.js';

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
async function heldBackend(): Promise<HeldOrigin> {
  const origin = await startHeldOrigin();
  cleanups.push(() => origin.close());
  return origin;
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

test('countPending reads /proc/net/tcp: half-open, accept queue, unacknowledged bytes on the VIP only', () => {
  // Little-endian hex as on x86: 198.18.0.100 = 640012C6, 198.18.0.11 = 0B0012C6, 127.0.0.1 = 0100007F; ports 8080 = 1F90.
  const header = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
  const row = (sl: number, local: string, st: string, tx: number, rx: number, retransmits = 0) =>
    `  ${sl}: ${local} 320012C6:A028 ${st} ${tx.toString(16).toUpperCase().padStart(8, '0')}:${rx.toString(16).toUpperCase().padStart(8, '0')} 00:00000000 ${retransmits.toString(16).padStart(8, '0')}     0        0 1 1 0000000000000000 100 0 0 10 0`;
  const tcp = [
    header,
    row(0, '00000000:1F90', '0A', 0, 3), // wildcard listener, 3 queued
    row(1, '0100007F:2328', '0A', 0, 2), // 127.0.0.1 listener: not the VIP's
    row(2, '640012C6:20FB', '0A', 0, 1), // listener on the VIP, 1 queued
    row(3, '640012C6:1F90', '03', 0, 0), // half-open
    row(4, '640012C6:1F90', '01', 0, 0), // established, nothing owed
    row(5, '640012C6:1F90', '01', 1448, 0), // bytes unacknowledged
    row(6, '640012C6:1F90', '04', 1, 0), // FIN unacknowledged
    row(7, '0B0012C6:1F90', '01', 9000, 0), // another address of the node
    row(8, '640012C6:1F90', '06', 0, 0), // TIME_WAIT
    row(9, '640012C6:1F90', '04', 1, 0, 3), // FIN retransmitted 3 times to a peer that went away: stalled
    row(10, '640012C6:1F90', '03', 0, 0, 2), // SYN-ACK retransmitted: stalled
  ].join('\n');
  const tcp6 = [header, `  0: 0000000000000000FFFF0000640012C6:1F90 0000000000000000FFFF0000320012C6:A029 01 00000010:00000000 00:00000000 00000000     0        0 1`].join('\n');
  // 3 + 1 queued, 1 half-open, 2 owing bytes, and 1 owing over a v4-mapped socket.
  assert.equal(countPending(`${tcp}\n${tcp6}`, '198.18.0.100', true), 8);
  assert.equal(countPending(header, '198.18.0.100', true), 0);
  // Big-endian hosts print the address in network order.
  assert.equal(countPending([header, row(0, 'C6120064:1F90', '03', 0, 0)].join('\n'), '198.18.0.100', false), 1);
});
