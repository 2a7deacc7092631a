// Keep-alive connections on the VIP before a planned move, over real sockets on 127.0.0.1 (standing in
// for the VIP): a request in flight gets `Connection: close` and its connection ends with it, an idle
// connection is closed, a connection that sends its next request quickly gets it answered (with
// Connection: close) rather than reset; other addresses are untouched; and it can be stopped.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { afterEach, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { HttpListener } from '../../lb/http/listener.js';
import { createDataPlaneMetrics } from '../../lb/metrics.js';
import { PoolRuntime } from '../../lb/pool.js';
import type { ListenerSpec } from '../../lb/types.js';
import { startHeldOrigin, type HeldOrigin } from '../support/held-origin.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** A backend that answers /slow only when told to, anything else at once. */
async function backend(): Promise<HeldOrigin> {
  const origin = await startHeldOrigin((req) => req.url === '/slow');
  cleanups.push(() => origin.close());
  return origin;
}

async function listener(): Promise<HttpListener> {
  const b = await backend();
  const p = new PoolRuntime(
    { name: 'p', scheduler: 'round-robin', slowStartMs: 0, backends: [{ name: 'b1', host: '127.0.0.1', port: b.port, weight: 1, state: 'active', backup: false, maxConns: 0 }] },
    { now: Date.now },
  );
  const spec: ListenerSpec = {
    name: 'web',
    mode: 'http',
    bind: { host: '127.0.0.1', port: 0 },
    routes: [{ pathPrefix: '/', pool: 'p' }],
    maxConns: 0,
    timeouts: { connectMs: 1000, clientHeaderMs: 5000, responseHeaderMs: 5000, idleMs: 10_000 },
    retries: 0,
    maxHeaderBytes: 16 * 1024,
  };
  const lb = new HttpListener(spec, { pools: () => p, metrics: createDataPlaneMetrics(new Registry()), logger: pino({ level: 'silent' }) });
  await lb.start();
  cleanups.push(() => lb.destroy());
  held = b;
  return lb;
}
let held: Awaited<ReturnType<typeof backend>> | null = null;

/** A raw client connection that collects what it reads and whether (and how) it ended. */
async function client(port: number): Promise<{ socket: net.Socket; text: () => string; ended: Promise<'end' | 'reset'> }> {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  cleanups.push(() => socket.destroy());
  let text = '';
  socket.on('data', (c: Buffer) => (text += c.toString()));
  const ended = new Promise<'end' | 'reset'>((resolve) => {
    socket.once('end', () => resolve('end'));
    socket.once('error', () => resolve('reset'));
  });
  return { socket, text: () => text, ended };
}

async function until(what: string, ok: () => boolean, timeoutMs = 5000, stepMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 10_000 && Date.now() < deadline; i++) {
    if (ok()) return;
    await sleep(stepMs);
  }
  assert.ok(ok(), what);
}

const responses = (text: string) => text.split('HTTP/1.1 ').slice(1);

test('closing keep-alive on an address: busy ones after their response, idle ones now, quick ones answered', { timeout: 30_000 }, async () => {
  const lb = await listener();
  const [idle, busy, quick] = await Promise.all([client(lb.port()), client(lb.port()), client(lb.port())]);
  for (const c of [idle, busy]) c.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  await until('two keep-alive answers', () => [idle, busy].every((c) => responses(c.text()).length === 1));
  busy.socket.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
  await until('the slow request reached the backend', () => held?.waiting() === 1);
  // The quick client's last response ends just before the move starts (well within the idle bound).
  quick.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  await until('the quick client answered', () => responses(quick.text()).length === 1, 5000, 1);
  for (const c of [idle, busy, quick]) assert.doesNotMatch(c.text(), /connection: close/i, 'keep-alive before the move');

  assert.equal(lb.closeKeepAliveOn('127.0.0.2'), 0, 'nothing open on another address');
  const opened = lb.closeKeepAliveOn('127.0.0.1');
  assert.equal(opened, 3, 'three connections open on the address');
  // Sent at once, before the idle sweep: answered, with Connection: close, then the connection ends.
  quick.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.equal(await quick.ended, 'end');
  assert.equal(responses(quick.text()).length, 2, 'the quick request was answered');
  assert.match(responses(quick.text())[1] ?? '', /connection: close/i);

  assert.equal(await idle.ended, 'end', 'the idle connection is closed by the listener');
  assert.equal(responses(idle.text()).length, 1);

  held?.release();
  assert.equal(await busy.ended, 'end');
  assert.match(responses(busy.text())[1] ?? '', /^200[\s\S]*connection: close/i, 'the request in flight completed and ended its connection');
  await until('nothing left open on the address', () => lb.closeKeepAliveOn('127.0.0.1') === 0);

  // Stopped (the move failed): keep-alive again.
  lb.closeKeepAliveOn(null);
  const after = await client(lb.port());
  after.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  await until('answered', () => responses(after.text()).length === 1);
  await sleep(400);
  assert.doesNotMatch(after.text(), /connection: close/i);
  assert.equal(after.socket.readyState, 'open', 'an idle connection stays open once closing stopped');
});
