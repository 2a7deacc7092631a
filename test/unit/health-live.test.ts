// HealthMonitor end to end: real clock, real checkers, real backends on 127.0.0.1 going away and coming back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { realClock } from '../../lb/health/clock.js';
import { HttpChecker } from '../../lb/health/http-checker.js';
import { HealthMonitor } from '../../lb/health/monitor.js';
import { TcpChecker } from '../../lb/health/tcp-checker.js';
import type { HealthTransition } from '../../lb/health/types.js';
import type { HealthCheckSpec, PoolSpec } from '../../lb/types.js';

// Short intervals so the test is quick; the bounds below carry a generous slack for a loaded 2-core box.
const SPEC: HealthCheckSpec = {
  type: 'http',
  intervalMs: 200,
  timeoutMs: 150,
  rise: 2,
  fall: 3,
  fastIntervalMs: 200,
  downIntervalMs: 200,
  method: 'GET',
  path: '/health',
  expectStatus: [{ from: 200, to: 399 }],
};
const SLACK_MS = 1500;

type Mode = 'ok' | 'hang' | '503' | 'wrong-body';

interface Backend {
  port: number;
  mode: Mode;
  /** Connections the server still has open. */
  open: () => number;
  close: () => Promise<void>;
}

async function backend(mode: Mode): Promise<Backend> {
  const sockets = new Set<net.Socket>();
  const b: Backend = {
    port: 0,
    mode,
    open: () => sockets.size,
    close: async () => {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
  const server = http.createServer((_req, res) => {
    switch (b.mode) {
      case 'ok':
        res.end('ok');
        return;
      case 'hang':
        return;
      case '503':
        res.statusCode = 503;
        res.end('ok');
        return;
      case 'wrong-body':
        res.end('degraded');
        return;
      default: {
        const never: never = b.mode;
        throw new Error(String(never));
      }
    }
  });
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  b.port = (server.address() as net.AddressInfo).port;
  return b;
}

function poolOf(backends: Record<string, number>, spec: Partial<HealthCheckSpec> = {}): PoolSpec {
  return {
    name: 'web',
    scheduler: 'round-robin',
    healthCheck: { ...SPEC, ...spec },
    slowStartMs: 0,
    backends: Object.entries(backends).map(([name, port]) => ({
      name,
      host: '127.0.0.1',
      port,
      weight: 1,
      state: 'active' as const,
      backup: false,
      maxConns: 0,
    })),
  };
}

interface Watch {
  monitor: HealthMonitor;
  transitions: HealthTransition[];
  /** Resolves with the first transition of `backend` to `to` after this call, or fails after `withinMs`. */
  next: (backend: string, to: 'up' | 'down', withinMs: number) => Promise<HealthTransition>;
}

function watch(): Watch {
  const transitions: HealthTransition[] = [];
  const waiters: { backend: string; to: string; resolve: (t: HealthTransition) => void }[] = [];
  const monitor = new HealthMonitor({
    clock: realClock,
    random: Math.random,
    checkers: { http: new HttpChecker(), tcp: new TcpChecker() },
    onTransition: (t) => {
      transitions.push(t);
      for (const w of waiters.splice(0)) {
        if (w.backend === t.backend && w.to === t.to) w.resolve(t);
        else waiters.push(w);
      }
    },
    logger: pino({ level: 'silent' }),
    registry: new Registry(),
  });
  const next = (backendName: string, to: 'up' | 'down', withinMs: number): Promise<HealthTransition> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${backendName} not ${to} within ${withinMs}ms`)), withinMs);
      waiters.push({
        backend: backendName,
        to,
        resolve: (t) => {
          clearTimeout(timer);
          resolve(t);
        },
      });
    });
  return { monitor, transitions, next };
}

test('a backend that stops answering goes down within fall checks and comes back within rise checks', async (t) => {
  const b = await backend('ok');
  const w = watch();
  try {
    const up = w.next('b1', 'up', SPEC.intervalMs + SLACK_MS);
    w.monitor.update([poolOf({ b1: b.port })], {});
    assert.equal((await up).from, 'unknown');

    // Each failing check waits out the timeout; checks start at most interval (+10% jitter) apart.
    const downBound = SPEC.fall * (SPEC.fastIntervalMs * 1.1) + SPEC.timeoutMs + SLACK_MS;
    const stoppedAt = Date.now();
    b.mode = 'hang';
    const down = await w.next('b1', 'down', downBound);
    const tookDown = Date.now() - stoppedAt;
    assert.equal(down.reason, `timeout after ${SPEC.timeoutMs}ms`);
    // Hysteresis: not before fall - 1 full intervals have passed since the first failure could start.
    assert.ok(tookDown >= (SPEC.fall - 1) * SPEC.fastIntervalMs * 0.9, `down after only ${tookDown}ms`);

    const upBound = SPEC.rise * (SPEC.downIntervalMs * 1.1) + SLACK_MS;
    const recoveredAt = Date.now();
    b.mode = 'ok';
    const back = await w.next('b1', 'up', upBound);
    const tookUp = Date.now() - recoveredAt;
    assert.deepEqual([back.from, back.reason], ['down', 'status 200']);
    assert.ok(tookUp >= (SPEC.rise - 1) * SPEC.fastIntervalMs * 0.9, `up after only ${tookUp}ms`);
    t.diagnostic(`down after ${tookDown}ms (bound ${downBound}ms), up after ${tookUp}ms (bound ${upBound}ms)`);
    assert.deepEqual(
      w.transitions.map((t) => `${t.from}->${t.to}`),
      ['unknown->up', 'up->down', 'down->up'],
    );
  } finally {
    await w.monitor.stop();
    await b.close();
  }
});

test('backends answering 503 or the wrong body are down with that reason', async () => {
  const b503 = await backend('503');
  const bBody = await backend('wrong-body');
  const good = await backend('ok');
  const w = watch();
  try {
    const d1 = w.next('b503', 'down', SPEC.intervalMs + SLACK_MS);
    const d2 = w.next('bBody', 'down', SPEC.intervalMs + SLACK_MS);
    const u = w.next('good', 'up', SPEC.intervalMs + SLACK_MS);
    w.monitor.update([poolOf({ b503: b503.port, bBody: bBody.port, good: good.port }, { expectBody: 'ok' })], {});
    assert.equal((await d1).reason, 'status 503 not in 200-399');
    assert.equal((await d2).reason, 'body does not contain "ok"');
    assert.equal((await u).reason, 'status 200');
  } finally {
    await w.monitor.stop();
    await Promise.all([b503.close(), bBody.close(), good.close()]);
  }
});

test('tcp checks: a closed listener goes down with ECONNREFUSED and comes back when it listens again', async () => {
  const b = await backend('ok');
  const port = b.port;
  const w = watch();
  const spec = { type: 'tcp' as const };
  let again: Backend | undefined;
  try {
    const up = w.next('t1', 'up', SPEC.intervalMs + SLACK_MS);
    w.monitor.update([poolOf({ t1: port }, spec)], {});
    await up;
    const down = w.next('t1', 'down', SPEC.fall * SPEC.fastIntervalMs * 1.1 + SLACK_MS);
    await b.close();
    assert.equal((await down).reason, 'ECONNREFUSED');

    const back = w.next('t1', 'up', SPEC.rise * SPEC.downIntervalMs * 1.1 + SLACK_MS);
    // Same port again, so the monitor's spec still points at it.
    again = await listenOn(port);
    assert.equal((await back).reason, 'connected');
  } finally {
    await w.monitor.stop();
    await again?.close();
  }
});

test('stop aborts checks in flight and leaves no probe socket behind', async () => {
  const b = await backend('hang');
  const w = watch();
  try {
    const before = tcpSocketHandles();
    w.monitor.update([poolOf({ h1: b.port, h2: b.port }, { timeoutMs: 5000 })], {}, { recheckNow: true });
    await waitFor(() => b.open() === 2, 2000, 'both checks hanging on the server');
    const started = Date.now();
    await w.monitor.stop();
    assert.ok(Date.now() - started < 1000, 'stop does not wait for the 5s timeout');
    await waitFor(() => b.open() === 0, 2000, 'server sees both probe connections closed');
    await waitFor(() => tcpSocketHandles() <= before, 2000, 'no client socket handle left');
    assert.deepEqual(w.transitions, [], 'an aborted check is not a verdict');
  } finally {
    await b.close();
  }
});

function tcpSocketHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
}

async function waitFor(predicate: () => boolean, withinMs: number, what: string): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!predicate()) {
    if (Date.now() > deadline) assert.fail(`not within ${withinMs}ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function listenOn(port: number): Promise<Backend> {
  const server = net.createServer((s) => s.on('error', () => s.destroy()));
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return {
    port,
    mode: 'ok',
    open: () => 0,
    close: async () => {
      server.close();
      await once(server, 'close');
    },
  };
}
