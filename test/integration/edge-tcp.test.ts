// Edge protection on TCP listeners of a real node (2 worker processes): PROXY protocol out (v1,
// v2) and through (in + out), CIDR deny at accept, per-address connection limits shared by the
// workers, connection rate limits, and the access log line of a connection.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { ListenerInput } from '../../config/schema.js';
import { encodeV1 } from '../../lb/proxy-protocol/encode.js';
import { readProxyHeader } from '../../lb/proxy-protocol/read-header.js';
import { startTestNode, type TestNode } from '../support/in-process-node.js';
import { startEchoOrigin } from '../support/tcp-origin.js';

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

/** A backend that wants PROXY headers: answers "v<version> <source>:<port>\n", then echoes. */
async function proxyAwareBackend(): Promise<{ address: string; server: Server; accepted: () => number }> {
  let accepted = 0;
  const sockets = new Set<Socket>();
  const server = createServer({ pauseOnConnect: true }, (s) => {
    accepted += 1;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
    void readProxyHeader(s, 3000).then((r) => {
      if (!r.ok) {
        s.end(`no header: ${r.reason}\n`);
        return;
      }
      const a = r.header.addresses;
      s.write(`v${r.header.version} ${a ? `${a.sourceAddress}:${a.sourcePort}` : 'local'}\n`);
      s.pipe(s);
      s.resume();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });
  return { address: `127.0.0.1:${(server.address() as AddressInfo).port}`, server, accepted: () => accepted };
}

async function tcpNode(backend: string, listener: Omit<ListenerInput, 'name' | 'mode' | 'bind' | 'pool'>, workers = 2): Promise<TestNode> {
  const n = await startTestNode(
    { pools: [{ name: 'p', backends: [{ name: 'b1', address: backend }] }], listeners: [{ name: 't', mode: 'tcp', bind: '127.0.0.1:0', pool: 'p', ...listener }] },
    { workers },
  );
  cleanups.push(() => n.stop());
  return n;
}

interface Conn {
  socket: Socket;
  /** Everything received so far. */
  data(): string;
  closed(): boolean;
  waitFor(text: string | ((d: string) => boolean), timeoutMs?: number): Promise<boolean>;
}

function open(port: number, localAddress = '127.0.0.1', first?: Buffer | string): Promise<Conn> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress });
    let data = '';
    let closed = false;
    socket.on('data', (d: Buffer) => (data += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => (closed = true));
    const conn: Conn = {
      socket,
      data: () => data,
      closed: () => closed,
      waitFor: async (want, timeoutMs = 5000) => {
        const ok = typeof want === 'string' ? (d: string) => d.includes(want) : want;
        const deadline = Date.now() + timeoutMs;
        while (!ok(data) && !closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        return ok(data);
      },
    };
    cleanups.push(async () => socket.destroy());
    socket.on('connect', () => {
      if (first !== undefined) socket.write(first);
      resolve(conn);
    });
  });
}

test('sendProxy v1 and v2: the backend learns the client address; acceptProxy + sendProxy passes it through', async () => {
  const backend = await proxyAwareBackend();
  const v1 = await tcpNode(backend.address, { sendProxy: 'v1' });
  const c1 = await open(v1.port('t'), '127.0.0.9');
  assert.ok(await c1.waitFor('\n'), c1.data());
  assert.equal(c1.data(), `v1 127.0.0.9:${c1.socket.localPort}\n`);
  c1.socket.write('ping');
  assert.ok(await c1.waitFor('ping'), 'bytes after the header flow both ways');
  c1.socket.destroy();

  const v2 = await tcpNode(backend.address, { sendProxy: 'v2', acceptProxy: true, proxyFrom: ['127.0.0.0/8'] });
  const header = encodeV1({ sourceAddress: '203.0.113.5', sourcePort: 1234, destAddress: '192.0.2.1', destPort: 443 });
  const c2 = await open(v2.port('t'), '127.0.0.1', Buffer.concat([header, Buffer.from('hello')]));
  assert.ok(await c2.waitFor('hello'), c2.data());
  assert.equal(c2.data(), 'v2 203.0.113.5:1234\nhello', 'the v1 header in came out as v2 with the same client');
  // acceptProxy: a connection without a header is closed, and the backend never sees it.
  const before = backend.accepted();
  const bare = await open(v2.port('t'), '127.0.0.1', 'no header here\r\n');
  await bare.waitFor(() => false, 1500);
  assert.ok(bare.closed());
  assert.equal(bare.data(), '');
  assert.equal(backend.accepted(), before);
});

test('CIDR deny closes at accept; the backend never sees the connection', async () => {
  const backend = await proxyAwareBackend();
  const n = await tcpNode(backend.address, { access: { deny: ['127.0.0.66/32'] }, sendProxy: 'v1' });
  const denied = await open(n.port('t'), '127.0.0.66', 'x');
  await denied.waitFor(() => false, 1000);
  assert.ok(denied.closed());
  assert.equal(denied.data(), '');
  assert.equal(backend.accepted(), 0);
  const allowed = await open(n.port('t'), '127.0.0.67');
  assert.ok(await allowed.waitFor('\n'));
  assert.equal(backend.accepted(), 1);
});

test('maxConnsPerIp holds across both workers; a freed slot can be used again; other addresses are not affected', async () => {
  const echo = await startEchoOrigin();
  cleanups.push(() => echo.close());
  const n = await tcpNode(echo.address, { maxConnsPerIp: 2 });
  const port = n.port('t');
  const conns = await Promise.all(Array.from({ length: 6 }, () => open(port, '127.0.0.7')));
  await Promise.all(conns.map(async (c, i) => {
    c.socket.write(`m${i}`);
    await c.waitFor(`m${i}`, 3000);
  }));
  const served = conns.filter((c, i) => c.data() === `m${i}` && !c.closed());
  console.log(`maxConnsPerIp 2: ${served.length} of 6 served`);
  assert.equal(served.length, 2);
  assert.equal(conns.filter((c) => c.closed()).length, 4);
  const other = await open(port, '127.0.0.8', 'z');
  assert.ok(await other.waitFor('z'));
  served[0]!.socket.destroy();
  await new Promise((r) => setTimeout(r, 300));
  const again = await open(port, '127.0.0.7', 'again');
  assert.ok(await again.waitFor('again'), 'the freed slot admits a new connection');
});

test('connection rate limit per address, and the access log line of a connection', async () => {
  const echo = await startEchoOrigin();
  cleanups.push(() => echo.close());
  const logPath = join(mkdtempSync(join(tmpdir(), 'ballast-edge-tcp-')), 'tcp.log');
  const n = await tcpNode(echo.address, { rateLimits: [{ key: 'ip', rate: '1/m', burst: 2 }], accessLog: { format: 'json', path: logPath } });
  const port = n.port('t');
  const results: boolean[] = [];
  for (let i = 0; i < 3; i++) {
    const c = await open(port, '127.0.0.5', 'abc');
    results.push(await c.waitFor('abc', 3000));
    c.socket.end();
    await c.waitFor(() => false, 200);
  }
  assert.deepEqual(results, [true, true, false]);
  const deadline = Date.now() + 5000;
  let lines: Record<string, unknown>[] = [];
  while (Date.now() < deadline) {
    lines = existsSync(logPath) ? readFileSync(logPath, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) : [];
    if (lines.length >= 3) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(lines.length, 3);
  const ok = lines.find((l) => l['outcome'] === 'ok');
  assert.ok(ok, JSON.stringify(lines));
  assert.equal(ok['kind'], 'tcp');
  assert.equal(ok['listener'], 't');
  assert.equal(ok['pool'], 'p');
  assert.equal(ok['backend'], 'b1');
  assert.equal(ok['client'], '127.0.0.5');
  assert.equal(ok['bytesIn'], 3);
  assert.equal(ok['bytesOut'], 3);
  assert.equal(typeof ok['connectMs'], 'number');
  assert.equal(typeof ok['ttfbMs'], 'number');
  assert.ok(lines.some((l) => l['outcome'] === 'rate-limit' && l['backend'] === ''));
});
