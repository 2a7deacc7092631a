// TcpListener bulk transfer: 100 MB byte-exact through the engine with the peers in another
// process (so this process's RSS is the engine's), and backpressure against a backend that stalls.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { test, type TestContext } from 'node:test';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { createDataPlaneMetrics, type DataPlaneMetrics } from '../../lb/metrics.js';
import { PoolRuntime } from '../../lb/pool.js';
import { TcpListener } from '../../lb/tcp/tcp-listener.js';
import type { ListenerSpec } from '../../lb/types.js';

const MB = 1024 * 1024;

function spec(): ListenerSpec {
  return {
    name: 'bulk',
    mode: 'tcp',
    bind: { host: '127.0.0.1', port: 0 },
    pool: 'p',
    routes: [],
    maxConns: 0,
    timeouts: { connectMs: 2000, clientHeaderMs: 0, responseHeaderMs: 0, idleMs: 30_000 },
    retries: 0,
    maxHeaderBytes: 0,
  };
}

async function engine(t: TestContext, backendPort: number): Promise<{ listener: TcpListener; metrics: DataPlaneMetrics }> {
  const metrics = createDataPlaneMetrics(new Registry());
  const pool = new PoolRuntime(
    {
      name: 'p', scheduler: 'round-robin', slowStartMs: 0,
      backends: [{ name: 'b', host: '127.0.0.1', port: backendPort, weight: 1, state: 'active', backup: false, maxConns: 0 }],
    },
    { now: Date.now, metrics },
  );
  const listener = new TcpListener(spec(), { pools: (n) => (n === 'p' ? pool : undefined), metrics, logger: pino({ level: 'silent' }) });
  t.after(() => listener.destroy());
  await listener.start();
  return { listener, metrics };
}

/**
 * The peers, in a child process: an echo backend, and a client that writes `total` bytes as fast
 * as its socket takes them (honouring drain), half-closes, and hashes what it sent and what came
 * back. Chunks are 1 MB windows at shifting offsets of 2 MB of random bytes, so reordering,
 * loss or duplication changes the received hash.
 */
const PEERS = `
import net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
const total = Number(process.env.TOTAL_BYTES);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
const backend = net.createServer({ allowHalfOpen: true }, (s) => { s.on('error', () => s.destroy()); s.pipe(s); });
backend.listen(0, '127.0.0.1', () => out({ backendPort: backend.address().port }));
createInterface({ input: process.stdin }).once('line', (line) => {
  const port = Number(line);
  const block = randomBytes(2 << 20);
  const CHUNK = 1 << 20;
  const sent = createHash('sha256');
  const recv = createHash('sha256');
  let written = 0, received = 0, i = 0;
  const t0 = performance.now();
  const c = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  c.on('data', (d) => { received += d.length; recv.update(d); });
  c.on('error', (e) => { out({ error: String(e) }); process.exit(1); });
  c.on('end', () => {
    const line = JSON.stringify({ written, received, ms: performance.now() - t0, sent: sent.digest('hex'), recv: recv.digest('hex') });
    process.stdout.write(line + '\\n', () => process.exit(0));
  });
  const pump = () => {
    while (written < total) {
      const off = (i++ * 7919) % CHUNK;
      const chunk = block.subarray(off, off + Math.min(CHUNK, total - written));
      sent.update(chunk);
      written += chunk.length;
      if (!c.write(chunk)) { c.once('drain', pump); return; }
    }
    c.end();
  };
  c.on('connect', pump);
});
`;

test('100 MB echoed through the engine byte-exact, in bounded time and memory', { timeout: 120_000 }, async (t) => {
  const total = 100 * MB;
  const child = spawn(process.execPath, ['--input-type=module', '-e', PEERS], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, TOTAL_BYTES: String(total) },
  });
  t.after(() => child.kill('SIGKILL'));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, unknown>> => {
    const r = await lines.next();
    assert.ok(r.done !== true, 'peers process ended early');
    return JSON.parse(r.value) as Record<string, unknown>;
  };

  const { backendPort } = (await next()) as { backendPort: number };
  const { listener, metrics } = await engine(t, backendPort);

  global.gc?.();
  const baseline = process.memoryUsage.rss();
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 20);
  t.after(() => clearInterval(sampler));

  const t0 = performance.now();
  child.stdin.write(`${listener.port()}\n`);
  const result = await Promise.race([
    next(),
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('transfer took over 90 s')), 90_000).unref()),
  ]);
  const elapsed = performance.now() - t0;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage.rss());

  assert.equal(result['error'], undefined);
  assert.equal(result['written'], total);
  assert.equal(result['received'], total);
  assert.equal(result['recv'], result['sent']);
  const clientMs = result['ms'] as number;
  const labels = { listener: 'bulk', pool: 'p', backend: 'b' };
  const received = (await metrics.receivedBytesTotal.get()).values.find((v) => v.labels.backend === labels.backend)?.value;
  const sent = (await metrics.sentBytesTotal.get()).values.find((v) => v.labels.backend === labels.backend)?.value;
  assert.equal(received, total);
  assert.equal(sent, total);

  const deltaMb = (peak - baseline) / MB;
  const rate = total / MB / (clientMs / 1000);
  t.diagnostic(
    `${total / MB} MB each way in ${clientMs.toFixed(0)} ms (client clock; ${elapsed.toFixed(0)} ms here): ` +
      `${rate.toFixed(0)} MB/s per direction, ${(2 * rate).toFixed(0)} MB/s through the engine; ` +
      `engine process peak RSS delta ${deltaMb.toFixed(1)} MB (baseline ${(baseline / MB).toFixed(0)} MB)`,
  );
  // Buffering the payload in this process would take at least 100 MB; bounded backpressure
  // needs a few socket buffers. Generous for GC slack on a loaded machine.
  assert.ok(deltaMb < 64, `peak RSS grew by ${deltaMb.toFixed(1)} MB`);
  await new Promise<void>((resolve) => child.once('exit', () => resolve()));
});

test('backpressure: a backend that stops reading stalls the client instead of filling our memory', { timeout: 60_000 }, async (t) => {
  const hash = createHash('sha256');
  let got = 0;
  let backendSocket: Socket | undefined;
  let backendEnded = false;
  const backend = createServer({ allowHalfOpen: true }, (s) => {
    backendSocket = s;
    s.pause();
    s.on('data', (d: Buffer) => {
      got += d.length;
      hash.update(d);
    });
    s.on('end', () => {
      backendEnded = true;
      s.end();
    });
    s.on('error', () => s.destroy());
  });
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    backendSocket?.destroy();
    backend.close();
  });
  const { listener } = await engine(t, (backend.address() as AddressInfo).port);

  const c = connect({ host: '127.0.0.1', port: listener.port(), allowHalfOpen: true });
  t.after(() => c.destroy());
  await new Promise<void>((resolve) => c.once('connect', resolve));
  const sent = createHash('sha256');
  const chunk = Buffer.alloc(MB);
  const cap = 256 * MB;
  let written = 0;
  // Write until the client's own socket stays full for a while (or the cap, if nothing pushes back).
  for (let i = 0; written < cap; i++) {
    chunk.fill(i & 0xff);
    sent.update(chunk);
    written += chunk.length;
    if (c.write(chunk)) continue;
    const drained = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        c.off('drain', onDrain);
        resolve(false);
      }, 500);
      const onDrain = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      c.once('drain', onDrain);
    });
    if (!drained) break;
  }
  const accepted = written - c.writableLength;
  t.diagnostic(`stalled after the kernel took ${(accepted / MB).toFixed(1)} MB of ${(written / MB).toFixed(0)} MB written`);
  // Without backpressure the engine would read everything (the cap); with it, the stall comes
  // once the socket buffers along the path are full.
  assert.ok(written < cap, 'the client never stalled');
  assert.ok(accepted < 64 * MB, `${(accepted / MB).toFixed(1)} MB accepted before stalling`);
  assert.equal(got, 0);

  // The backend reads again: everything arrives, in order, and FIN follows the last byte.
  backendSocket?.resume();
  c.end();
  const deadline = Date.now() + 30_000;
  while (!backendEnded && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.ok(backendEnded, 'backend never saw the end of the stream');
  assert.equal(got, written);
  assert.equal(hash.digest('hex'), sent.digest('hex'));
});
