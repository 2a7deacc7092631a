// HTTP/2 under load through a real TLS listener: several sessions with many concurrent streams
// each, slow HTTP/1.1 backends and a small per-backend connection limit; every stream must get an
// answer (or, when the client reset it, be let go), and the listener's books must close.
// Each scenario runs against a deadline and reports what stayed unanswered instead of hanging.
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { normalizeListener, normalizePool } from '../../config/normalize.js';
import type { PoolInput } from '../../config/schema.js';
import { DataPlane } from '../../lb/data-plane.js';
import { LISTENER_IN_FLIGHT } from '../../lb/metrics.js';
import { startOrigin, type Origin } from '../support/origin-server.js';
import { createTestPki, type Leaf, type TestPki } from '../support/test-pki.js';

const logger = pino({ level: process.env['BALLAST_LOG_LEVEL'] ?? 'silent' });
const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
});

let pki: TestPki;
let leaf: Leaf;
before(() => {
  pki = createTestPki();
  cleanups.push(() => pki.cleanup());
  leaf = pki.leaf('h2load', ['h2.example.test']);
});

/** Loopback origins answering after `delayMs`, each tracking its highest concurrency. */
async function slowOrigins(n: number, delayMs: number): Promise<{ list: Origin[]; peak: () => number[] }> {
  const list = await Promise.all(Array.from({ length: n }, (_, i) => startOrigin(`o${i + 1}`, { delayMs })));
  const peaks = list.map(() => 0);
  list.forEach((o, i) => {
    o.server.on('request', () => (peaks[i] = Math.max(peaks[i] ?? 0, o.inFlight())));
    cleanups.push(() => o.close());
  });
  return { list, peak: () => [...peaks] };
}

async function plane(os: Origin[], maxConns: number): Promise<{ port: number; registry: Registry; dp: DataPlane }> {
  const registry = new Registry();
  const dp = new DataPlane({ logger, registry });
  // Bounded: a listener that cannot close must fail its test, not hold the process (origins close next).
  cleanups.push(() => Promise.race([dp.drain(500), sleep(5000, undefined, { ref: false })]));
  const pool: PoolInput = { name: 'web', backends: os.map((o) => ({ name: o.name, address: o.address, maxConns })) };
  const report = await dp.apply({
    version: 1,
    listeners: [
      normalizeListener(
        { name: 'h2', mode: 'http', bind: '127.0.0.1:0', routes: [{ pathPrefix: '/', pool: 'web' }], tls: { certificates: [{ certFile: leaf.chainFile, keyFile: leaf.keyFile }] } },
        'listeners[0]',
      ),
    ],
    pools: [normalizePool(pool, 'pools[0]')],
    health: {},
    certificates: [],
  });
  assert.deepEqual(report.errors, {});
  return { port: report.listening['h2'] ?? assert.fail('h2 not listening'), registry, dp };
}

interface Outcome {
  status: number;
  body: string;
}

/** One stream: resolves with its status and body, or 'reset' when `cancelAfterMs` cut it first. */
function stream(session: http2.ClientHttp2Session, path: string, cancelAfterMs?: number): Promise<Outcome | 'reset'> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':path': path, ':authority': 'h2.example.test' });
    req.end();
    let status = 0;
    let body = '';
    req.on('response', (h) => (status = Number(h[':status'])));
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => resolve({ status, body }));
    req.on('error', reject);
    if (cancelAfterMs !== undefined) {
      setTimeout(() => {
        if (status !== 0) return;
        req.close(http2.constants.NGHTTP2_CANCEL);
        resolve('reset');
      }, cancelAfterMs);
    }
  });
}

interface LoadResult {
  outcomes: (Outcome | 'reset')[];
  /** Streams still unanswered at the deadline (0 when all settled). */
  unanswered: number;
}

/**
 * `sessions` connections opened `staggerMs` apart (late ones handshake while the first are busy),
 * each with `streams` concurrent requests; settles when every stream did or the deadline passed.
 */
async function load(port: number, opts: { sessions: number; streams: number; staggerMs: number; deadlineMs: number; cancel?: (i: number) => number | undefined }): Promise<LoadResult> {
  const pending = new Set<number>();
  const all: Promise<Outcome | 'reset'>[] = [];
  const sessions: http2.ClientHttp2Session[] = [];
  for (let s = 0; s < opts.sessions; s++) {
    const session = http2.connect(`https://127.0.0.1:${port}`, { ca: pki.rootCert, servername: 'h2.example.test' });
    session.on('error', () => undefined);
    sessions.push(session);
    cleanups.push(() => session.destroy());
    for (let i = 0; i < opts.streams; i++) {
      const n = s * opts.streams + i;
      pending.add(n);
      const p = stream(session, `/s${s}/r${i}`, opts.cancel?.(n));
      void p.then(
        () => pending.delete(n),
        () => pending.delete(n),
      );
      all.push(p);
    }
    if (opts.staggerMs > 0) await sleep(opts.staggerMs);
  }
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'deadline'>((resolve) => (timer = setTimeout(() => resolve('deadline'), opts.deadlineMs)));
  const settled = await Promise.race([Promise.allSettled(all), deadline]);
  clearTimeout(timer);
  const unanswered = pending.size;
  for (const session of sessions) session.destroy();
  if (settled === 'deadline') return { outcomes: [], unanswered };
  return {
    unanswered,
    outcomes: settled.map((r) => (r.status === 'fulfilled' ? r.value : { status: -1, body: String(r.reason) })),
  };
}

async function inFlight(registry: Registry): Promise<number> {
  const metric = await registry.getSingleMetric(LISTENER_IN_FLIGHT)?.get();
  return metric?.values.find((v) => v.labels['listener'] === 'h2')?.value ?? Number.NaN;
}

/** The gauge settles a moment after the last close; poll it, bounded. */
async function inFlightSettles(registry: Registry): Promise<number> {
  let value = await inFlight(registry);
  for (let i = 0; i < 50 && value !== 0; i++) {
    await sleep(100);
    value = await inFlight(registry);
  }
  return value;
}

describe('HTTP/2 under load', () => {
  it('answers every stream of 8 sessions x 40 streams over slow backends', async () => {
    const { list } = await slowOrigins(3, 80);
    const { port, registry } = await plane(list, 0);
    const r = await load(port, { sessions: 8, streams: 40, staggerMs: 20, deadlineMs: 30_000 });
    assert.equal(r.unanswered, 0, `${r.unanswered} of 320 streams unanswered after 30 s`);
    const statuses = r.outcomes.map((o) => (o === 'reset' ? 'reset' : o.status));
    assert.deepEqual([...new Set(statuses)], [200], 'every stream got a 200');
    assert.equal(list.reduce((n, o) => n + o.seen.length, 0), 320, 'each stream reached a backend once');
    assert.equal(await inFlightSettles(registry), 0, 'in-flight gauge back to 0');
  });

  it('with a per-backend connection limit far below the streams, each stream gets a 200 or a 503, none is left open', async () => {
    const { list, peak } = await slowOrigins(2, 150);
    const { port, registry } = await plane(list, 3);
    const r = await load(port, { sessions: 6, streams: 50, staggerMs: 10, deadlineMs: 30_000 });
    assert.equal(r.unanswered, 0, `${r.unanswered} of 300 streams unanswered after 30 s`);
    const tally: Record<string, number> = {};
    for (const o of r.outcomes) {
      const key = o === 'reset' ? 'reset' : String(o.status);
      tally[key] = (tally[key] ?? 0) + 1;
    }
    assert.deepEqual(Object.keys(tally).sort(), ['200', '503'], `statuses: ${JSON.stringify(tally)}`);
    assert.ok((tally['200'] ?? 0) >= 6, `some streams served: ${JSON.stringify(tally)}`);
    for (const p of peak()) assert.ok(p <= 3, `a backend saw ${p} concurrent requests over its limit of 3`);
    assert.equal(await inFlightSettles(registry), 0, 'in-flight gauge back to 0');
  });

  it('streams the client resets while their backend works release that backend: later streams get it, and the listener closes', async () => {
    const { list } = await slowOrigins(2, 300);
    // 2 x 10 slots: phase 1 fills them all, so a slot a reset stream kept would turn phase 2 into 503s.
    const { port, registry, dp } = await plane(list, 10);
    const cut = await load(port, { sessions: 2, streams: 10, staggerMs: 0, deadlineMs: 30_000, cancel: () => 100 });
    assert.equal(cut.unanswered, 0, `${cut.unanswered} of 20 streams unsettled after 30 s`);
    const resets = cut.outcomes.filter((o) => o === 'reset').length;
    assert.ok(resets >= 15, `most streams were still waiting on their backend when cut (${resets} of 20)`);
    // The backends finish (or drop) the work of the reset streams.
    let busy = list.reduce((n, o) => n + o.inFlight(), 0);
    for (let i = 0; i < 50 && busy > 0; i++) {
      await sleep(100);
      busy = list.reduce((n, o) => n + o.inFlight(), 0);
    }
    assert.equal(busy, 0, 'backends done with the reset streams');
    await sleep(100);
    const next = await load(port, { sessions: 2, streams: 10, staggerMs: 0, deadlineMs: 30_000 });
    assert.equal(next.unanswered, 0, `${next.unanswered} of 20 streams unanswered after 30 s`);
    const statuses = next.outcomes.map((o) => (o === 'reset' ? 'reset' : o.status));
    assert.deepEqual(statuses, Array.from({ length: 20 }, () => 200), 'every slot was released by the reset streams');
    assert.equal(await inFlightSettles(registry), 0, 'in-flight gauge back to 0 after resets');
    // A backend request left running for a reset stream would hold the listener's close forever.
    const drained = await Promise.race([dp.drain(500).then(() => 'drained'), sleep(10_000, undefined, { ref: false }).then(() => 'stuck')]);
    assert.equal(drained, 'drained', 'the listener closed within 10 s');
  });
});
