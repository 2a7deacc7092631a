// The panel's metrics arithmetic, run in node: parsing real prom-client output, counter rates
// (with restarts), p99 from histogram buckets, and the bounded chart series.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { createDataPlaneMetrics } from '../../lb/metrics.js';
import { parsePromText } from '../../web/panel/src/prom-text.js';
import { SeriesWindow, TrafficHistory, ratesBetween } from '../../web/panel/src/traffic-history.js';
import { bucketQuantile, counterIncrease, snapshotFromSamples } from '../../web/panel/src/traffic-snapshot.js';

describe('prom text', () => {
  it('parses what prom-client exposes, escapes and special values included', async () => {
    const registry = new Registry();
    const m = createDataPlaneMetrics(registry);
    m.httpRequestsTotal.inc({ listener: 'web', pool: 'p"1', backend: 'b\\1', code: '200' }, 3);
    m.backendActiveConnections.set({ pool: 'p"1', backend: 'b\\1' }, 2);
    m.httpRequestDuration.observe({ listener: 'web', pool: 'p"1' }, 0.02);
    const samples = parsePromText(await registry.metrics());
    const req = samples.find((s) => s.name === 'ballast_http_requests_total');
    assert.deepEqual(req, { name: 'ballast_http_requests_total', labels: { listener: 'web', pool: 'p"1', backend: 'b\\1', code: '200' }, value: 3 });
    const inf = samples.find((s) => s.name === 'ballast_http_request_duration_seconds_bucket' && s.labels['le'] === '+Inf');
    assert.equal(inf?.value, 1);
    assert.deepEqual(parsePromText('a{x="1\\n2"} +Inf 1700000000\nb NaN\n# c 1\n'), [
      { name: 'a', labels: { x: '1\n2' }, value: Infinity },
      { name: 'b', labels: {}, value: NaN },
    ]);
    assert.throws(() => parsePromText('a{x="1} 2'), /unterminated/);
    assert.throws(() => parsePromText('a abc'), /bad sample value/);
  });
});

describe('traffic arithmetic', () => {
  it('counter increase treats a drop as a restart', () => {
    assert.equal(counterIncrease(undefined, 5), 5);
    assert.equal(counterIncrease(5, 12), 7);
    assert.equal(counterIncrease(12, 3), 3);
  });

  it('p99 interpolates inside the bucket and stops at the largest finite bound', () => {
    const buckets = new Map([
      [0.01, 50],
      [0.1, 100],
      [Infinity, 100],
    ]);
    // rank 99 of 100 falls in (0.01, 0.1]: 49/50 of the way.
    const p99 = bucketQuantile(0.99, buckets);
    assert.ok(p99 !== null && Math.abs(p99 - (0.01 + 0.09 * (49 / 50))) < 1e-9, String(p99));
    assert.equal(bucketQuantile(0.99, new Map([[0.1, 0], [Infinity, 10]])), 0.1);
    assert.equal(bucketQuantile(0.99, new Map([[0.1, 0], [Infinity, 0]])), null);
  });

  it('rates per pool and backend from two scrapes of a real registry', async () => {
    const registry = new Registry();
    const m = createDataPlaneMetrics(registry);
    const scrape = async (at: number) => snapshotFromSamples(parsePromText(await registry.metrics()), at);
    m.httpRequestsTotal.inc({ listener: 'web', pool: 'web', backend: 'a', code: '200' }, 10);
    const first = await scrape(1_000);
    m.httpRequestsTotal.inc({ listener: 'web', pool: 'web', backend: 'a', code: '200' }, 15);
    m.httpRequestsTotal.inc({ listener: 'web', pool: 'web', backend: 'a', code: '503' }, 5);
    m.httpRequestsTotal.inc({ listener: 'web', pool: 'web', backend: '', code: '502' }, 10);
    m.backendActiveConnections.set({ pool: 'web', backend: 'a' }, 4);
    for (let i = 0; i < 100; i++) m.httpRequestDuration.observe({ listener: 'web', pool: 'web' }, i < 98 ? 0.002 : 0.2);
    const second = await scrape(3_000);
    const rates = ratesBetween(first, second);
    assert.equal(rates.poolRps.get('web'), 15); // 30 responses over 2 s
    const a = rates.backends.get('web/a');
    assert.equal(a?.requestsPerSec, 10);
    assert.equal(a?.errorRate, 0.25);
    assert.equal(a?.active, 4);
    const p99 = rates.poolP99.get('web');
    assert.ok(p99 !== null && p99 !== undefined && p99 > 0.1 && p99 <= 0.25, String(p99));
  });

  it('history keeps a bounded window and drops series that went away', () => {
    const w = new SeriesWindow(3);
    w.push(1, new Map([['a', 1]]));
    w.push(2, new Map([['a', 2], ['b', 5]]));
    assert.deepEqual(w.series.get('b'), [null, 5]);
    w.push(3, new Map([['a', 3]]));
    w.push(4, new Map([['a', 4]]));
    assert.deepEqual(w.times, [2, 3, 4]);
    assert.deepEqual(w.series.get('a'), [2, 3, 4]);
    assert.deepEqual(w.series.get('b'), [5, null, null]);
    w.push(5, new Map([['a', 5]]));
    assert.equal(w.series.has('b'), false);
    assert.deepEqual(w.keys(), ['a']);
  });

  it('history takes rates over the window, not just the last pair', () => {
    const h = new TrafficHistory({ windowMs: 2_000, points: 10 });
    const snap = (at: number, n: number) => ({ at, poolRequests: new Map([['p', n]]), poolBuckets: new Map(), backends: new Map() });
    assert.equal(h.push(snap(0, 0)), null);
    h.push(snap(1_000, 10));
    h.push(snap(2_000, 20));
    const r = h.push(snap(3_000, 60));
    // Base is the scrape at 1 s (the newest one at least 2 s old): 50 over 2 s.
    assert.equal(r?.poolRps.get('p'), 25);
    assert.equal(h.rps.times.length, 3);
  });
});
