// Per-route retries and timeouts over real sockets: 5xx retried elsewhere, POST kept single,
// attempts bounded, a route's responseHeader deadline; and the config side (errors, read-back).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type net from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { ConfigError } from '../../config/errors.js';
import { buildConfig } from '../../config/load.js';
import { routeInput } from '../../config/route-traffic.js';
import { HttpListener } from '../../lb/http/listener.js';
import { createDataPlaneMetrics } from '../../lb/metrics.js';
import { PoolRuntime } from '../../lb/pool.js';
import type { ListenerSpec, RouteSpec } from '../../lb/types.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

interface Backend {
  name: string;
  port: number;
  /** Methods of the requests it received, in order. */
  seen: string[];
}

async function startBackend(name: string, handler: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<Backend> {
  const seen: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    seen.push(`${req.method ?? ''} ${req.url ?? ''}`);
    handler(req, res);
  });
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => {
    server.close();
    for (const s of sockets) s.destroy();
  });
  return { name, port: (server.address() as net.AddressInfo).port, seen };
}

function answer(status: number, name: string) {
  return (req: http.IncomingMessage, res: http.ServerResponse): void => {
    req.resume();
    req.on('end', () => {
      res.writeHead(status, { 'x-backend': name });
      res.end(`${name} ${status}`);
    });
  };
}

function pool(name: string, backends: Backend[]): PoolRuntime {
  return new PoolRuntime(
    {
      name,
      scheduler: 'round-robin',
      slowStartMs: 0,
      backends: backends.map((b) => ({ name: b.name, host: '127.0.0.1', port: b.port, weight: 1, state: 'active', backup: false, maxConns: 0 })),
    },
    { now: Date.now },
  );
}

function spec(routes: RouteSpec[], over: Partial<ListenerSpec> = {}): ListenerSpec {
  return {
    name: 'web',
    mode: 'http',
    bind: { host: '127.0.0.1', port: 0 },
    routes,
    maxConns: 0,
    timeouts: { connectMs: 1000, clientHeaderMs: 2000, responseHeaderMs: 5000, idleMs: 10_000 },
    retries: 2,
    maxHeaderBytes: 16 * 1024,
    ...over,
  };
}

async function startLb(s: ListenerSpec, pools: PoolRuntime[]): Promise<{ lb: HttpListener; port: number }> {
  const byName = new Map(pools.map((p) => [p.name, p]));
  const lb = new HttpListener(s, { pools: (name) => byName.get(name), metrics: createDataPlaneMetrics(new Registry()), logger: pino({ level: 'silent' }) });
  await lb.start();
  cleanups.push(() => lb.destroy());
  return { lb, port: lb.port() };
}

function request(port: number, opts: { path?: string; method?: string; body?: string; headers?: http.OutgoingHttpHeaders } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: opts.path ?? '/', method: opts.method ?? 'GET', headers: opts.headers ?? {}, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(20_000, () => req.destroy(new Error('test request timed out')));
    req.end(opts.body);
  });
}

const total = (bs: Backend[]): number => bs.reduce((n, b) => n + b.seen.length, 0);

describe('per-route retry', () => {
  it('retries a GET answered 503 on another backend and serves the 200', async () => {
    const bad1 = await startBackend('bad1', answer(503, 'bad1'));
    const bad2 = await startBackend('bad2', answer(503, 'bad2'));
    const good = await startBackend('good', answer(200, 'good'));
    const route: RouteSpec = { pathPrefix: '/', pool: 'p', retry: { attempts: 2, on: ['5xx'], methods: ['GET'] } };
    const { port } = await startLb(spec([route]), [pool('p', [bad1, bad2, good])]);
    // Round-robin start varies per request: every order of the three must end on "good".
    for (let i = 0; i < 6; i += 1) {
      const r = await request(port);
      assert.equal(r.status, 200);
      assert.equal(r.body, 'good 200');
    }
    assert.equal(good.seen.length, 6);
    // Each retry went to a backend not tried yet: never more than one visit per backend per request.
    assert.ok(total([bad1, bad2, good]) <= 18);
  });

  it('without 5xx in `on` (the listener default) a 503 is relayed as it is', async () => {
    const bad = await startBackend('bad', answer(503, 'bad'));
    const good = await startBackend('good', answer(200, 'good'));
    const { port } = await startLb(spec([{ pathPrefix: '/', pool: 'p' }]), [pool('p', [bad, good])]);
    const statuses = new Set<number>();
    for (let i = 0; i < 4; i += 1) statuses.add((await request(port)).status);
    assert.deepEqual([...statuses].sort(), [200, 503]);
    assert.equal(total([bad, good]), 4);
  });

  it('does not retry a POST that reached a backend, even with 5xx in `on`', async () => {
    const bad1 = await startBackend('bad1', answer(503, 'bad1'));
    const bad2 = await startBackend('bad2', answer(503, 'bad2'));
    const route: RouteSpec = { pathPrefix: '/', pool: 'p', retry: { attempts: 3, on: ['5xx', 'reset', 'timeout'], methods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE'] } };
    const { port } = await startLb(spec([route]), [pool('p', [bad1, bad2])]);
    const post = await request(port, { method: 'POST', body: 'pay once' });
    assert.equal(post.status, 503);
    assert.equal(total([bad1, bad2]), 1, 'a POST must reach one backend only');
    // Not for its body alone: a bodiless POST is not idempotent either.
    const empty = await request(port, { method: 'POST', headers: { 'content-length': '0' } });
    assert.equal(empty.status, 503);
    assert.equal(total([bad1, bad2]), 2);
    // A bodiless DELETE (idempotent) is retried: both backends see it.
    const del = await request(port, { method: 'DELETE' });
    assert.equal(del.status, 503);
    assert.equal(total([bad1, bad2]), 4);
  });

  it('bounds the attempts: attempts 1 on four failing backends means two tries, then the 5xx', async () => {
    const bad = await Promise.all(['b1', 'b2', 'b3', 'b4'].map((n) => startBackend(n, answer(502, n))));
    const route: RouteSpec = { pathPrefix: '/', pool: 'p', retry: { attempts: 1, on: ['5xx'], methods: ['GET'] } };
    const { port } = await startLb(spec([route]), [pool('p', bad)]);
    const r = await request(port);
    assert.equal(r.status, 502);
    assert.equal(total(bad), 2);
    assert.ok(bad.every((b) => b.seen.length <= 1), 'the retry went to another backend');
  });

  it('relays the 5xx when no other backend is eligible', async () => {
    const only = await startBackend('only', answer(500, 'only'));
    const route: RouteSpec = { pathPrefix: '/', pool: 'p', retry: { attempts: 3, on: ['5xx'], methods: ['GET'] } };
    const { port } = await startLb(spec([route]), [pool('p', [only])]);
    const r = await request(port);
    assert.equal(r.status, 500);
    assert.equal(r.body, 'only 500');
    assert.equal(only.seen.length, 1);
  });
});

describe('per-route timeouts', () => {
  it("a route's shorter responseHeader gives 504 on that route only; `timeout` in `on` retries elsewhere", async () => {
    const slowMs = 800;
    const slow = await startBackend('slow', (req, res) => {
      req.resume();
      const t = setTimeout(() => res.end('late'), slowMs);
      res.once('close', () => clearTimeout(t));
    });
    const good = await startBackend('good', answer(200, 'good'));
    const routes: RouteSpec[] = [
      { pathPrefix: '/short/', pool: 'slow', timeouts: { responseHeaderMs: 200 } },
      { pathPrefix: '/retry/', pool: 'mixed', timeouts: { responseHeaderMs: 200 }, retry: { attempts: 1, on: ['timeout'], methods: ['GET'] } },
      { pathPrefix: '/', pool: 'slow' },
    ];
    const { port } = await startLb(spec(routes), [pool('slow', [slow]), pool('mixed', [slow, good])]);
    const began = Date.now();
    const short = await request(port, { path: '/short/x' });
    assert.equal(short.status, 504);
    assert.match(short.body, /within 200 ms$/);
    assert.ok(Date.now() - began < slowMs + 2000);
    const other = await request(port, { path: '/other' });
    assert.equal(other.status, 200, 'the listener deadline (5 s) still applies elsewhere');
    assert.equal(other.body, 'late');
    for (let i = 0; i < 2; i += 1) {
      const r = await request(port, { path: '/retry/x' });
      assert.equal(r.status, 200);
      assert.equal(r.body, 'good 200');
    }
  });

  it("a route's shorter idle cuts a backend that stalls mid-response, on that route only", async () => {
    const stalling = await startBackend('stall', (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('part ');
      // undici runs bodyTimeout on timers of about 1 s resolution: the stall is well beyond that.
      const t = setTimeout(() => res.end('rest'), 3500);
      res.once('close', () => clearTimeout(t));
    });
    const routes: RouteSpec[] = [
      { pathPrefix: '/short/', pool: 'p', timeouts: { idleMs: 200 } },
      { pathPrefix: '/', pool: 'p' },
    ];
    const { port } = await startLb(spec(routes), [pool('p', [stalling])]);
    const began = Date.now();
    await assert.rejects(request(port, { path: '/short/x' }), /aborted|ECONNRESET|socket hang up/);
    assert.ok(Date.now() - began < 3000, 'cut before the backend resumed');
    const whole = await request(port, { path: '/other' });
    assert.equal(whole.body, 'part rest');
  });

  it('applies a route change live (listener update)', async () => {
    const slow = await startBackend('slow', (req, res) => {
      req.resume();
      const t = setTimeout(() => res.end('late'), 600);
      res.once('close', () => clearTimeout(t));
    });
    const { lb, port } = await startLb(spec([{ pathPrefix: '/', pool: 'p' }]), [pool('p', [slow])]);
    assert.equal((await request(port)).status, 200);
    lb.update(spec([{ pathPrefix: '/', pool: 'p', timeouts: { responseHeaderMs: 150 } }]));
    assert.equal((await request(port)).status, 504);
  });
});

describe('per-route retry config', () => {
  function raw(route: Record<string, unknown>): unknown {
    return {
      node: { id: 'n1', dataDir: './data', adminListen: '127.0.0.1:9001', workers: 1 },
      bootstrap: {
        pools: [{ name: 'p', backends: [{ name: 'a', address: '127.0.0.1:8081' }] }],
        listeners: [{ name: 'web', mode: 'http', bind: '127.0.0.1:8080', routes: [{ pathPrefix: '/a/', pool: 'p' }, { pathPrefix: '/', pool: 'p', ...route }] }],
      },
    };
  }
  const build = (route: Record<string, unknown>) => buildConfig(raw(route), join(tmpdir(), 'x.yaml'));
  function expectError(route: Record<string, unknown>, message: string): void {
    assert.throws(
      () => build(route),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
        assert.equal(err.message, message);
        return true;
      },
    );
  }

  it('names the bad field', () => {
    expectError({ retry: { attempts: 11 } }, 'bootstrap.listeners[0].routes[1].retry.attempts: must be an integer 0..10');
    expectError({ retry: { attempts: 1, on: ['always'] } }, 'bootstrap.listeners[0].routes[1].retry.on[0]: must be one of: connect-failure, reset, 5xx, timeout');
    expectError({ retry: { attempts: 1, methods: ['get'] } }, 'bootstrap.listeners[0].routes[1].retry.methods[0]: must be an upper-case method name like GET');
    expectError({ timeouts: { responseHeader: '0ms' } }, 'bootstrap.listeners[0].routes[1].timeouts.responseHeader: must be above 0');
    expectError({ timeouts: { connect: '1s' } }, 'bootstrap.listeners[0].routes[1].timeouts.connect: unknown field; allowed here: responseHeader, idle');
  });

  it('fills defaults (idempotent methods) and reads back in input form', () => {
    const config = build({ retry: { attempts: 2, on: ['5xx'] }, timeouts: { responseHeader: '1500ms', idle: '30s' } });
    const route = config.bootstrap?.listeners[0]?.routes[1];
    assert.ok(route);
    assert.deepEqual(route.retry, { attempts: 2, on: ['5xx'], methods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE'] });
    assert.deepEqual(route.timeouts, { responseHeaderMs: 1500, idleMs: 30_000 });
    const back = routeInput(route);
    assert.deepEqual(back.retry, { attempts: 2, on: ['5xx'], methods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE'] });
    assert.deepEqual(back.timeouts, { responseHeader: '1500ms', idle: '30s' });
  });
});
