// Token buckets (node side) and the leasing rate limiter (worker side), on a fake clock: burst,
// refill, Retry-After, two limiters sharing one node budget, cluster share, connection slots.
import assert from 'node:assert/strict';
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { test } from 'node:test';
import { pino } from 'pino';
import { normalizeListener } from '../../config/normalize.js';
import { createEdgeRuntime } from '../../lb/edge/edge-runtime.js';
import { HttpGate } from '../../lb/edge/http-gate.js';
import { EdgeAuthority } from '../../lb/edge/edge-authority.js';
import { LocalEdgeChannel } from '../../lb/edge/local-edge-channel.js';
import { leaseSize, RateLimiter } from '../../lb/edge/rate-limit.js';
import { TokenBuckets } from '../../lb/edge/token-buckets.js';
import type { EdgeChannel, GateVerdict } from '../../lb/edge/types.js';
import type { RateLimitSpec } from '../../lb/types.js';

const spec = (ratePerSec: number, burst: number, scope: 'node' | 'cluster' = 'node'): RateLimitSpec => ({ key: 'ip', ratePerSec, burst, scope });

test('a bucket grants its burst, then refills at the rate, and says when the next token is back', () => {
  const b = new TokenBuckets();
  assert.equal(b.take('k', 0, 10, 5, 5).granted, 5);
  const empty = b.take('k', 0, 10, 5, 1);
  assert.equal(empty.granted, 0);
  assert.equal(empty.retryAfterMs, 100);
  assert.equal(b.take('k', 250, 10, 5, 10).granted, 2, '250 ms at 10/s is 2.5 tokens: 2 whole ones');
  assert.equal(b.take('k', 10_000, 10, 5, 100).granted, 5, 'never more than the burst');
});

test('buckets are bounded: the least recently used key goes first, and full buckets are swept', () => {
  const b = new TokenBuckets(3);
  for (const k of ['a', 'b', 'c']) b.take(k, 0, 1, 1, 1);
  b.take('a', 0, 1, 1, 1);
  b.take('d', 0, 1, 1, 1);
  assert.equal(b.size, 3);
  assert.equal(b.take('a', 0, 1, 1, 1).granted, 0, '"a" was used recently and kept its empty bucket');
  assert.equal(b.take('b', 0, 1, 1, 1).granted, 1, '"b" was evicted and starts full again');
  b.sweep(10_000);
  assert.equal(b.size, 0);
});

/** A channel that counts round trips to the node. */
function counting(channel: EdgeChannel): EdgeChannel & { calls: number } {
  const c = {
    calls: 0,
    take: (...a: Parameters<EdgeChannel['take']>) => {
      c.calls += 1;
      return channel.take(...a);
    },
    connOpen: (k: string, l: number) => channel.connOpen(k, l),
    connClose: (k: string) => channel.connClose(k),
  };
  return c;
}

async function decide(l: RateLimiter, key: string, s: RateLimitSpec) {
  const d = l.take(key, s);
  return d instanceof Promise ? d : Promise.resolve(d);
}

test('two workers leasing from one node admit exactly the burst together, then Retry-After', async () => {
  let now = 0;
  const authority = new EdgeAuthority(() => now);
  const channel = counting(new LocalEdgeChannel(authority));
  const w1 = new RateLimiter(channel, () => now);
  const w2 = new RateLimiter(channel, () => now);
  const s = spec(100, 40);
  let allowed = 0;
  let retry = 0;
  for (let i = 0; i < 100; i++) {
    const d = await decide(i % 2 === 0 ? w1 : w2, 'client', s);
    if (d.allowed) allowed += 1;
    else retry = d.retryAfterSec;
  }
  assert.equal(allowed, 40, 'the burst is the node budget, not per worker');
  assert.equal(retry, 1);
  assert.ok(channel.calls < 100, `leases save round trips (${channel.calls} for 100 decisions)`);
  assert.equal(leaseSize(s), 5);
  // One second later: 100 more tokens, capped by the burst of 40.
  now = 1000;
  let later = 0;
  for (let i = 0; i < 100; i++) if ((await decide(i % 2 === 0 ? w1 : w2, 'client', s)).allowed) later += 1;
  assert.equal(later, 40);
});

test('steady rate over 10 simulated seconds stays within 10% of the limit (burst excluded)', async () => {
  let now = 0;
  const authority = new EdgeAuthority(() => now);
  const workers = [0, 1].map(() => new RateLimiter(new LocalEdgeChannel(authority), () => now));
  const s = spec(50, 10);
  let allowed = 0;
  // 200 requests/s offered for 10 s, alternating workers.
  for (let t = 0; t < 10_000; t += 5) {
    now = t;
    if ((await decide(workers[(t / 5) % 2]!, 'k', s)).allowed) allowed += 1;
  }
  const steady = allowed - 10;
  assert.ok(Math.abs(steady - 500) <= 50, `admitted ${steady} after the burst, expected about 500`);
});

test('a cluster-scoped limit enforces rate/N and burst/N on each of N live nodes', async () => {
  const authority = new EdgeAuthority(() => 0);
  authority.setClusterShare(4);
  const l = new RateLimiter(new LocalEdgeChannel(authority), () => 0);
  let allowed = 0;
  for (let i = 0; i < 100; i++) if ((await decide(l, 'k', spec(100, 40, 'cluster'))).allowed) allowed += 1;
  assert.equal(allowed, 10);
  assert.equal(authority.clusterShare(), 0.25);
});

test('a node that does not answer fails open', async () => {
  const dead: EdgeChannel = {
    take: () => Promise.reject(new Error('gone')),
    connOpen: async () => true,
    connClose: () => undefined,
  };
  let errors = 0;
  const l = new RateLimiter(dead, Date.now, () => (errors += 1));
  assert.deepEqual(await decide(l, 'k', spec(1, 1)), { allowed: true });
  assert.equal(errors, 1);
});

test('connection slots per address are node-wide and freed when a worker goes away', () => {
  const a = new EdgeAuthority();
  const open = (owner: string): boolean => (a.handle({ type: 'edge.conn-open', key: 'ip1', limit: 2 }, owner) as { ok: boolean }).ok;
  assert.equal(open('w1'), true);
  assert.equal(open('w1'), true);
  assert.equal(open('w2'), false, 'the limit counts both workers');
  a.close('ip1', 'w1');
  assert.equal(open('w2'), true);
  assert.equal(a.openConnections('ip1'), 2);
  a.forget('w1');
  assert.equal(a.openConnections('ip1'), 1, 'w1 held one; w2 keeps its own');
  a.close('ip1', 'w1');
  assert.equal(a.openConnections('ip1'), 1, 'closing a slot the owner does not hold changes nothing');
});

test('HttpGate: a request whose limits answer from a held lease is decided synchronously; the first one asks the node', async () => {
  const logger = pino({ level: 'silent' });
  const spec = normalizeListener({ name: 'w', mode: 'http', bind: '127.0.0.1:1', routes: [{ pathPrefix: '/', pool: 'p' }], rateLimits: [{ key: 'ip', rate: '100/s', burst: 100 }] }, 'w');
  const gate = new HttpGate(spec, createEdgeRuntime({ logger }), logger);
  const req = new IncomingMessage(new Socket());
  req.method = 'GET';
  req.url = '/';
  req.headers = { host: 'x' };
  const first = gate.check(req, spec.routes[0], '127.0.0.1', '/');
  assert.ok(first instanceof Promise, 'no lease yet: the node is asked');
  assert.equal((await first).kind, 'pass');
  const second = gate.check(req, spec.routes[0], '127.0.0.1', '/');
  assert.ok(!(second instanceof Promise), 'spent from the lease, no promise');
  assert.equal(second.kind, 'pass');
  // Spend the burst: the refusal is a 429 with Retry-After, whichever way it comes.
  let refused: GateVerdict | undefined;
  for (let i = 0; i < 300 && refused === undefined; i++) {
    const v = gate.check(req, spec.routes[0], '127.0.0.1', '/');
    const verdict = v instanceof Promise ? await v : v;
    if (verdict.kind === 'reject') refused = verdict;
  }
  assert.ok(refused?.kind === 'reject' && refused.status === 429 && Number(refused.headers?.['Retry-After']) >= 1);
});
