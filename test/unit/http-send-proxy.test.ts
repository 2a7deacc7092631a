// sendProxy on HTTP listeners, over real sockets: a raw TCP backend reads the PROXY v1/v2 header off
// each connection, then answers HTTP on it naming the client the header carried. Backend
// connections are never shared between client connections, keep-alive requests of one client
// reuse its own, they close with the client, acceptProxy addresses pass through, and the HTTP/2
// front and upgrades go the same way.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { normalizeListener, normalizePool } from '../../config/normalize.js';
import type { ListenerInput } from '../../config/schema.js';
import { DataPlane } from '../../lb/data-plane.js';
import { encodeV1 } from '../../lb/proxy-protocol/encode.js';
import { readProxyHeader } from '../../lb/proxy-protocol/read-header.js';
import type { DataPlaneState } from '../../lb/types.js';
import { createTestPki, type Leaf, type TestPki } from '../support/test-pki.js';

const logger = pino({ level: process.env['BALLAST_LOG_LEVEL'] ?? 'silent' });
const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
});

/** What the backend learnt about one of its connections. */
interface BackendConn {
  id: number;
  version: number;
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
  closed: boolean;
  requests: number;
}

interface ProxyBackend {
  port: number;
  conns: BackendConn[];
  /** Connections that arrived without a valid PROXY header (and were closed). */
  refused: string[];
}

/**
 * HTTP/1.1 on every connection once its PROXY header was read; each answer names the connection.
 * With a certificate, TLS starts after the header (as HAProxy's send-proxy + ssl does).
 */
async function startProxyBackend(cert?: Leaf): Promise<ProxyBackend> {
  const conns: BackendConn[] = [];
  const refused: string[] = [];
  const byConn = new WeakMap<net.Socket, BackendConn>();
  const reply = (socket: net.Socket): string => JSON.stringify(byConn.get(socket));
  const handler: http.RequestListener = (req, res) => {
    const c = byConn.get(req.socket);
    if (c !== undefined) c.requests += 1;
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(reply(req.socket));
    });
  };
  const httpServer = cert === undefined ? http.createServer(handler) : https.createServer({ cert: cert.chain, key: cert.key }, handler);
  httpServer.on('upgrade', (_req: http.IncomingMessage, socket: net.Socket) => {
    socket.end(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n${reply(socket)}`);
  });
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    void readProxyHeader(socket, 2000).then((r) => {
      if (!r.ok || r.header.addresses === null) {
        refused.push(r.ok ? 'no addresses' : r.reason);
        socket.destroy();
        return;
      }
      const a = r.header.addresses;
      const c: BackendConn = { id: conns.length + 1, version: r.header.version, src: a.sourceAddress, srcPort: a.sourcePort, dst: a.destAddress, dstPort: a.destPort, closed: false, requests: 0 };
      conns.push(c);
      byConn.set(socket, c);
      socket.once('close', () => (c.closed = true));
      // The TLS socket https wraps around it is what the request handler sees.
      if (cert !== undefined) httpServer.once('secureConnection', (t: net.Socket) => byConn.set(t, c));
      httpServer.emit("connection", socket);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return { port: (server.address() as net.AddressInfo).port, conns, refused };
}

let version = 0;
async function plane(listener: Partial<ListenerInput>, backend: ProxyBackend, tlsLeaf?: Leaf): Promise<{ dp: DataPlane; port: number }> {
  const input: ListenerInput = { name: 'web', mode: 'http', bind: '127.0.0.1:0', routes: [{ pathPrefix: '/', pool: 'pp' }], ...listener };
  if (tlsLeaf !== undefined) input.tls = { certificates: [{ cert: tlsLeaf.chain, key: tlsLeaf.key }] };
  const s: DataPlaneState = {
    version: ++version,
    listeners: [normalizeListener(input, 'listeners[0]')],
    pools: [normalizePool({ name: 'pp', backends: [{ name: 'b1', address: `127.0.0.1:${backend.port}` }] }, 'pools[0]')],
    health: {},
    certificates: [],
  };
  const dp = new DataPlane({ logger, registry: new Registry() });
  cleanups.push(() => dp.drain(500));
  const report = await dp.apply(s);
  assert.deepEqual(report.errors, {}, 'listener started');
  return { dp, port: report.listening['web'] ?? assert.fail('not listening') };
}

/** One GET on a keep-alive agent; returns the backend's view and the client's own port. */
function fetchVia(agent: http.Agent, port: number, path = '/'): Promise<{ status: number; conn: BackendConn; localPort: number }> {
  return new Promise((resolve, reject) => {
    let localPort = 0;
    const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, conn: JSON.parse(body) as BackendConn, localPort });
        } catch {
          reject(new Error(`status ${res.statusCode}: ${body}`));
        }
      });
    });
    req.on('socket', (s: net.Socket) => {
      const mark = (): void => {
        localPort = s.localPort ?? 0;
      };
      if (s.connecting) s.once('connect', mark);
      else mark();
    });
    req.setTimeout(15_000, () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
  });
}

async function until(what: string | (() => string), cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for: ${typeof what === 'string' ? what : what()}`);
    await sleep(20);
  }
}

describe('sendProxy on an HTTP listener', () => {
  for (const v of ['v1', 'v2'] as const) {
    it(`${v}: two client connections get two backend connections, each naming its client; keep-alive reuses its own`, async () => {
      const backend = await startProxyBackend();
      const { port } = await plane({ sendProxy: v }, backend);
      const agents = ['127.0.0.2', '127.0.0.3'].map((localAddress) => new http.Agent({ keepAlive: true, maxSockets: 1, localAddress }));
      cleanups.push(() => agents.forEach((a) => a.destroy()));
      const seen: { client: string; localPort: number; conn: BackendConn }[] = [];
      // Interleaved, so a shared pool would hand one client's backend connection to the other.
      for (let round = 0; round < 3; round++) {
        for (const [i, agent] of agents.entries()) {
          const r = await fetchVia(agent, port, `/r${round}`);
          assert.equal(r.status, 200);
          seen.push({ client: i === 0 ? '127.0.0.2' : '127.0.0.3', localPort: r.localPort, conn: r.conn });
        }
      }
      assert.deepEqual(backend.refused, [], 'every backend connection began with a PROXY header');
      assert.equal(backend.conns.length, 2, 'one backend connection per client connection');
      for (const client of ['127.0.0.2', '127.0.0.3']) {
        const mine = seen.filter((s) => s.client === client);
        const ids = new Set(mine.map((s) => s.conn.id));
        assert.equal(ids.size, 1, `${client}: its 3 keep-alive requests share one backend connection`);
        const c = mine[0]!.conn;
        assert.equal(c.version, v === 'v1' ? 1 : 2);
        assert.equal(c.src, client);
        assert.equal(c.srcPort, mine[0]!.localPort, 'the client port');
        assert.equal(c.dst, '127.0.0.1');
        assert.equal(c.dstPort, port, 'the listener port');
      }
      assert.deepEqual(backend.conns.map((c) => c.requests), [3, 3]);
      // The client leaves: its backend connection goes with it.
      agents[0]!.destroy();
      await until('backend connection of the first client closed', () => backend.conns.find((c) => c.src === '127.0.0.2')?.closed === true);
      assert.equal(backend.conns.find((c) => c.src === '127.0.0.3')?.closed, false, 'the other client keeps its own');
    });
  }

  it('behind acceptProxy: the backend sees the original client from the incoming header, on one connection', async () => {
    const backend = await startProxyBackend();
    const { port } = await plane({ sendProxy: 'v2', acceptProxy: true, proxyFrom: ['127.0.0.0/8'] }, backend);
    const socket = net.connect({ host: '127.0.0.1', port });
    cleanups.push(() => socket.destroy());
    await once(socket, 'connect');
    socket.write(encodeV1({ sourceAddress: '203.0.113.9', sourcePort: 4000, destAddress: '198.51.100.1', destPort: 80 }));
    let data = '';
    socket.on('data', (d: Buffer) => (data += d.toString('latin1')));
    for (let i = 0; i < 2; i++) {
      socket.write(`GET /k${i} HTTP/1.1\r\nHost: x\r\n\r\n`);
      // Chunked replies: each one ends with its last-chunk line.
      await until(() => `reply ${i + 1} (got ${JSON.stringify(data)})`, () => data.split('\r\n0\r\n\r\n').length - 1 > i);
    }
    assert.equal(backend.conns.length, 1, 'both keep-alive requests on one backend connection');
    const c = backend.conns[0]!;
    assert.deepEqual([c.src, c.srcPort, c.dst, c.dstPort, c.requests], ['203.0.113.9', 4000, '198.51.100.1', 80, 2]);
  });

  it('an upgrade (tunnel) carries the header too', async () => {
    const backend = await startProxyBackend();
    const { port } = await plane({ sendProxy: 'v1' }, backend);
    const socket = net.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.5' });
    cleanups.push(() => socket.destroy());
    await once(socket, 'connect');
    const localPort = socket.localPort;
    socket.write('GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n');
    let data = '';
    socket.on('data', (d: Buffer) => (data += d.toString('latin1')));
    await until('101 with the connection record', () => data.trimEnd().endsWith('}'));
    assert.match(data, /^HTTP\/1\.1 101/);
    const c = JSON.parse(data.slice(data.indexOf('{'))) as BackendConn;
    assert.deepEqual([c.src, c.srcPort], ['127.0.0.5', localPort]);
  });

  describe('TLS', () => {
    let pki: TestPki;
    let leaf: Leaf;
    before(() => {
      pki = createTestPki();
      cleanups.push(() => pki.cleanup());
      leaf = pki.leaf('pp', ['pp.example.test']);
    });

    it('backendTls: the header goes first in clear, then the TLS handshake; keep-alive reuses the connection', async () => {
      const backend = await startProxyBackend(leaf);
      const { port } = await plane({ sendProxy: 'v1', backendTls: { ca: pki.rootCert, servername: 'pp.example.test' } }, backend);
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1, localAddress: '127.0.0.8' });
      cleanups.push(() => agent.destroy());
      const a = await fetchVia(agent, port, '/t1');
      const b = await fetchVia(agent, port, '/t2');
      assert.deepEqual(backend.refused, []);
      assert.equal(backend.conns.length, 1);
      assert.deepEqual([a.conn.src, a.conn.srcPort, b.conn.id, b.conn.requests], ['127.0.0.8', a.localPort, a.conn.id, 2]);
    });

    it('backendTls to a refused port: a 502, and the worker survives the TLS socket reporting the failure twice', async () => {
      const probe = net.createServer();
      await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
      const closedPort = (probe.address() as net.AddressInfo).port;
      await new Promise<void>((r) => probe.close(() => r()));
      const { port } = await plane({ sendProxy: 'v2', backendTls: { ca: pki.rootCert, servername: 'pp.example.test' } }, { port: closedPort, conns: [], refused: [] });
      for (let i = 0; i < 2; i++) {
        const status = await new Promise<number>((resolve, reject) => {
          http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          }).on('error', reject);
        });
        assert.equal(status, 502);
      }
    });

    it('streams of one h2 session share only that session\'s backend connections; another session gets its own', async () => {
      const backend = await startProxyBackend();
      const { port } = await plane({ sendProxy: 'v2' }, backend, leaf);
      const sessions = ['127.0.0.6', '127.0.0.7'].map((localAddress) => {
        const s = http2.connect(`https://127.0.0.1:${port}`, {
          createConnection: () =>
            tls.connect({ socket: net.connect({ host: '127.0.0.1', port, localAddress }), ca: pki.rootCert, servername: 'pp.example.test', ALPNProtocols: ['h2'] }),
        });
        cleanups.push(() => s.destroy());
        return s;
      });
      const get = (s: http2.ClientHttp2Session, path: string): Promise<BackendConn> =>
        new Promise((resolve, reject) => {
          const req = s.request({ ':path': path });
          req.end();
          let body = '';
          req.setEncoding('utf8');
          req.on('data', (d: string) => (body += d));
          req.on('end', () => {
            try {
              resolve(JSON.parse(body) as BackendConn);
            } catch {
              reject(new Error(body));
            }
          });
          req.on('error', reject);
        });
      // Sequential per session first (keep-alive reuse), then a concurrent burst on each.
      const results: { session: number; conn: BackendConn }[] = [];
      for (let i = 0; i < 3; i++) for (const [n, s] of sessions.entries()) results.push({ session: n, conn: await get(s, `/seq${i}`) });
      const burst = await Promise.all(sessions.flatMap((s, n) => Array.from({ length: 6 }, (_, i) => get(s, `/b${i}`).then((conn) => ({ session: n, conn })))));
      results.push(...burst);
      assert.deepEqual(backend.refused, []);
      // The TLS socket's own localPort is that of the TCP socket under it.
      const ports = sessions.map((s) => s.socket.localPort);
      for (const [n, addr] of ['127.0.0.6', '127.0.0.7'].entries()) {
        const mine = results.filter((r) => r.session === n);
        for (const r of mine) assert.deepEqual([r.conn.src, r.conn.srcPort], [addr, ports[n]], `session ${n} request named its own client`);
        // The 3 sequential requests went over one backend connection.
        assert.equal(new Set(mine.slice(0, 3).map((r) => r.conn.id)).size, 1);
      }
      const idsOf = (n: number): Set<number> => new Set(results.filter((r) => r.session === n).map((r) => r.conn.id));
      for (const id of idsOf(0)) assert.ok(!idsOf(1).has(id), 'no backend connection carried both sessions');
      sessions[0]!.destroy();
      await until('the first session\'s backend connections closed', () => backend.conns.filter((c) => c.src === '127.0.0.6').every((c) => c.closed));
    });
  });
});
