// The net-ipc transport on 127.0.0.1: TLS-PSK between real sockets, byte-exact payloads, refusal
// of a wrong secret, reconnect after a peer restart, and bounded queues for dead or slow peers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer } from 'node:net';
import type { Server as NetServer, Socket } from 'node:net';
import { Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { Server as IpcServer } from 'net-ipc';
import type { Connection } from 'net-ipc';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { NetIpcTransport } from '../../cluster/transport/ipc-transport.js';
import { reserveFreePort } from '../../cluster/transport/port-reservation.js';
import { PSK_TLS_SETTINGS, derivePskRoot, pskFor } from '../../cluster/transport/psk.js';
import { TransportError } from '../../cluster/transport/errors.js';
import type { NetIpcTransportOptions, PeerAddress } from '../../cluster/transport/types.js';

const HOST = '127.0.0.1';
const SECRET = 'correct horse battery staple';

interface TestMessage {
  type: string;
  from: string;
  seq: number;
  entries?: { index: number; term: number; type: 'normal'; data: Uint8Array }[];
  snapshot?: { data: Uint8Array };
}

interface LogLine {
  level: number;
  msg: string;
  identity?: string | null;
  peer?: string;
}

function capture(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l) as LogLine);
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

type Inbox = { from: string; message: TestMessage }[];

function node(
  t: { after: (fn: () => Promise<void>) => void },
  id: string,
  port: number,
  peers: PeerAddress[],
  extra: Partial<NetIpcTransportOptions> = {},
): { transport: NetIpcTransport<TestMessage>; inbox: Inbox; lines: LogLine[] } {
  const { logger, lines } = capture();
  const transport = new NetIpcTransport<TestMessage>({
    id,
    listen: { host: HOST, port },
    peers,
    secret: SECRET,
    logger,
    backoff: { initialMs: 20, maxMs: 300 },
    connectTimeoutMs: 2000,
    ...extra,
  });
  const inbox: Inbox = [];
  transport.onMessage((from, message) => inbox.push({ from, message }));
  t.after(() => transport.stop());
  return { transport, inbox, lines };
}

async function cluster(t: { after: (fn: () => Promise<void>) => void }, ids: string[], extra: Partial<NetIpcTransportOptions> = {}) {
  const peers: PeerAddress[] = [];
  for (const id of ids) peers.push({ id, host: HOST, port: await reserveFreePort(HOST) });
  const nodes = peers.map((p) => node(t, p.id, p.port, peers, extra));
  await Promise.all(nodes.map((n) => n.transport.start()));
  return { peers, nodes };
}

/** net-ipc's pause() does not stop a socket it reads through 'readable'; dropping that listener does. */
function stopReading(conn: Connection): void {
  conn.connection.removeAllListeners('readable');
}

function connected(transport: NetIpcTransport<TestMessage>, peer: string): boolean {
  return transport.stats().peers.some((p) => p.id === peer && p.connected);
}

test('three transports exchange messages with byte payloads intact', async (t) => {
  const { nodes } = await cluster(t, ['n1', 'n2', 'n3']);
  const ids = ['n1', 'n2', 'n3'];
  const snapshot = randomBytes(300_000);
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  const perPair = 50;
  for (let seq = 0; seq < perPair; seq++) {
    for (const [i, from] of ids.entries()) {
      for (const to of ids) {
        if (to === from) continue;
        const msg: TestMessage = { type: 'app', from, seq, entries: [{ index: seq + 1, term: 2, type: 'normal', data: all }] };
        if (seq === perPair - 1) msg.snapshot = { data: new Uint8Array(snapshot) };
        nodes[i]!.transport.send(to, msg);
      }
    }
  }
  await waitFor('every message', () => nodes.every((n) => n.inbox.length === 2 * perPair));
  for (const [i, n] of nodes.entries()) {
    for (const from of ids) {
      if (from === ids[i]) continue;
      const got = n.inbox.filter((m) => m.from === from);
      // Fire-and-forget may lose messages sent before the link is up; anything that arrives is whole and in order.
      assert.deepEqual(got.map((m) => m.message.seq), Array.from({ length: perPair }, (_, s) => s));
      for (const { message } of got) {
        assert.equal(message.from, from, 'the authenticated sender matches the message');
        assert.deepEqual(message.entries?.[0]?.data, all);
      }
      const last = got.at(-1)!.message;
      assert.ok(last.snapshot && !Buffer.isBuffer(last.snapshot.data));
      assert.ok(Buffer.from(last.snapshot.data).equals(snapshot), 'a 300 kB snapshot arrives byte-exact');
    }
  }
  for (const n of nodes) {
    const stats = n.transport.stats();
    assert.equal(stats.received, 2 * perPair);
    assert.ok(stats.peers.every((p) => p.dropped === 0 && p.queued === 0));
  }
  assert.throws(() => nodes[0]!.transport.send('n2', { type: 'bad', from: 'n1', seq: 0, fn: () => 1 } as unknown as TestMessage), TransportError);
  nodes[0]!.transport.send('nobody', { type: 'x', from: 'n1', seq: 0 });
  assert.equal(nodes[0]!.transport.stats().unknownPeerDrops, 1);
});

test('a peer with the wrong secret, or an identity that is not a member, is refused and logged', async (t) => {
  const port1 = await reserveFreePort(HOST);
  const port2 = await reserveFreePort(HOST);
  const port3 = await reserveFreePort(HOST);
  const peers: PeerAddress[] = [
    { id: 'n1', host: HOST, port: port1 },
    { id: 'n2', host: HOST, port: port2 },
  ];
  const good = node(t, 'n1', port1, peers);
  const bad = node(t, 'n2', port2, peers, { secret: 'not the cluster secret' });
  const stranger = node(t, 'nX', port3, [...peers, { id: 'nX', host: HOST, port: port3 }]);
  await Promise.all([good.transport.start(), bad.transport.start(), stranger.transport.start()]);
  for (let i = 0; i < 20; i++) {
    bad.transport.send('n1', { type: 'vote', from: 'n2', seq: i });
    stranger.transport.send('n1', { type: 'vote', from: 'nX', seq: i });
  }
  await waitFor('refusals logged', () => good.lines.filter((l) => /refused peer connection/.test(l.msg)).length >= 2);
  await waitFor('stranger refused', () => good.lines.some((l) => /unknown node identity/.test(l.msg) && l.identity === 'nX'));
  await new Promise((r) => setTimeout(r, 300));
  const refusal = good.lines.find((l) => /wrong cluster secret/.test(l.msg));
  assert.ok(refusal, 'the wrong secret is named as the likely cause');
  assert.equal(refusal.identity, 'n2');
  assert.equal(refusal.level, 40, 'logged at warn');
  assert.equal(good.inbox.length, 0, 'nothing from a refused peer is delivered');
  assert.ok(good.transport.stats().refused >= 2);
  assert.ok(!connected(bad.transport, 'n1') && !connected(good.transport, 'n2'));
  assert.ok(bad.lines.some((l) => l.level === 40 && /cannot reach peer/.test(l.msg)), 'the refused side logs it too');
  const badLink = bad.transport.stats().peers.find((p) => p.id === 'n1')!;
  assert.ok(badLink.failures >= 1 && badLink.queued <= 20);
});

test('a peer that restarts is redialed and messages flow again', async (t) => {
  const { peers, nodes } = await cluster(t, ['n1', 'n2']);
  const [n1, n2] = nodes as [ReturnType<typeof node>, ReturnType<typeof node>];
  n1.transport.send('n2', { type: 'hb', from: 'n1', seq: 1 });
  await waitFor('first message', () => n2.inbox.length === 1);
  await n2.transport.stop();
  await waitFor('n1 notices the loss', () => !connected(n1.transport, 'n2'));
  assert.ok(n1.lines.some((l) => /lost connection to peer/.test(l.msg)));
  for (let seq = 2; seq <= 6; seq++) n1.transport.send('n2', { type: 'hb', from: 'n1', seq });
  await new Promise((r) => setTimeout(r, 400)); // a few failed redials while n2 is down

  const again = node(t, 'n2', peers[1]!.port, peers);
  await again.transport.start();
  await waitFor('queued messages delivered after restart', () => again.inbox.length >= 5);
  assert.deepEqual(again.inbox.map((m) => m.message.seq), [2, 3, 4, 5, 6], 'queued while down, delivered in order');
  n1.transport.send('n2', { type: 'hb', from: 'n1', seq: 7 });
  again.transport.send('n1', { type: 'hb', from: 'n2', seq: 1 });
  await waitFor('traffic both ways', () => again.inbox.length === 6 && n1.inbox.length === 1);
  assert.ok(n1.transport.stats().peers[0]!.failures >= 2);
});

test('a dead, a black-hole and a non-reading peer keep bounded queues while a healthy peer gets everything', async (t) => {
  const queueLimit = 50;
  const hostPort = async () => ({ host: HOST, port: await reserveFreePort(HOST) });
  const dead = { id: 'dead', ...(await hostPort()) };

  // Accepts TCP and never answers: the TLS handshake cannot finish.
  const blackholeSockets = new Set<Socket>();
  const blackhole: NetServer = createServer((s) => blackholeSockets.add(s));
  await new Promise<void>((r) => blackhole.listen(0, HOST, () => r()));
  t.after(() => {
    for (const s of blackholeSockets) s.destroy();
    return new Promise<void>((r) => blackhole.close(() => r()));
  });
  const hole = { id: 'hole', host: HOST, port: (blackhole.address() as { port: number }).port };

  // Completes the real handshake, then stops reading: TCP backpressure fills the sender's buffer.
  const root = await derivePskRoot(SECRET);
  const slowPort = await reserveFreePort(HOST);
  const paused: Connection[] = [];
  const slowServer = new IpcServer({
    port: slowPort,
    tls: true,
    listenOptions: { host: HOST },
    options: { ...PSK_TLS_SETTINGS, pskCallback: (_s: unknown, id: string) => pskFor(root, id) },
  });
  slowServer.on('connect', (conn: Connection) => {
    paused.push(conn);
    stopReading(conn);
  });
  slowServer.on('error', () => undefined);
  await slowServer.start();
  t.after(async () => {
    for (const c of paused) c.destroy();
    slowServer.server.close();
  });
  const slow = { id: 'slow', host: HOST, port: slowPort };

  const healthyPort = await reserveFreePort(HOST);
  const senderPort = await reserveFreePort(HOST);
  const peers: PeerAddress[] = [{ id: 'n1', host: HOST, port: senderPort }, { id: 'n2', host: HOST, port: healthyPort }, dead, hole, slow];
  const opts = { queueLimit, maxBufferedBytes: 64 * 1024, stallTimeoutMs: 60_000, connectTimeoutMs: 500 };
  const sender = node(t, 'n1', senderPort, peers, opts);
  const healthy = node(t, 'n2', healthyPort, peers, opts);
  await Promise.all([sender.transport.start(), healthy.transport.start()]);
  await waitFor('links to n2 and slow up', () => connected(sender.transport, 'n2') && connected(sender.transport, 'slow'));

  const payload = new Uint8Array(16 * 1024).fill(7);
  const rounds = 1000;
  const started = Date.now();
  for (let seq = 0; seq < rounds; seq++) {
    for (const to of ['n2', 'dead', 'hole', 'slow']) sender.transport.send(to, { type: 'app', from: 'n1', seq, snapshot: { data: payload } });
    // Raft bounds its in-flight appends; here: let the healthy link drain between bursts. The bad
    // peers' queues are never waited for, so this also shows they do not hold the healthy one up.
    if (seq % 10 === 9) await waitFor('n2 link drained', () => sender.transport.stats().peers.find((p) => p.id === 'n2')!.queued === 0);
  }
  assert.ok(Date.now() - started < 10_000, 'send() never blocks on a bad peer');
  await waitFor('healthy peer got every message', () => healthy.inbox.length === rounds, 30_000);
  assert.deepEqual(healthy.inbox.map((m) => m.message.seq), Array.from({ length: rounds }, (_, i) => i));

  const stats = new Map(sender.transport.stats().peers.map((p) => [p.id, p]));
  assert.equal(stats.get('n2')!.dropped, 0);
  for (const id of ['dead', 'hole', 'slow']) {
    const s = stats.get(id)!;
    assert.ok(s.queued <= queueLimit, `${id} queue ${s.queued} stays within ${queueLimit}`);
    assert.ok(s.dropped > 0, `${id} dropped ${s.dropped}`);
  }
  assert.ok(stats.get('slow')!.sent < rounds, 'the non-reading peer took only what its buffers held');
  assert.ok(!stats.get('dead')!.connected && !stats.get('hole')!.connected);
  await waitFor('black hole dial times out', () => sender.transport.stats().peers.find((p) => p.id === 'hole')!.failures >= 1, 5000);
  assert.match(sender.transport.stats().peers.find((p) => p.id === 'hole')!.lastError ?? '', /no handshake within 500 ms/);
});

test('a stalled connection is torn down and redialed; stop() releases the port', async (t) => {
  const root = await derivePskRoot(SECRET);
  const slowPort = await reserveFreePort(HOST);
  const conns: Connection[] = [];
  const slowServer = new IpcServer({
    port: slowPort,
    tls: true,
    listenOptions: { host: HOST },
    options: { ...PSK_TLS_SETTINGS, pskCallback: (_s: unknown, id: string) => pskFor(root, id) },
  });
  slowServer.on('connect', (conn: Connection) => {
    conns.push(conn);
    stopReading(conn);
  });
  slowServer.on('error', () => undefined);
  await slowServer.start();
  t.after(async () => {
    for (const c of conns) c.destroy();
    slowServer.server.close();
  });
  const senderPort = await reserveFreePort(HOST);
  const peers: PeerAddress[] = [{ id: 'n1', host: HOST, port: senderPort }, { id: 'slow', host: HOST, port: slowPort }];
  const sender = node(t, 'n1', senderPort, peers, { maxBufferedBytes: 32 * 1024, stallTimeoutMs: 300, queueLimit: 20 });
  await sender.transport.start();
  await waitFor('connected', () => connected(sender.transport, 'slow'));
  // Keep offering traffic, as Raft would, so there is always something waiting on the full buffer.
  const payload = new Uint8Array(64 * 1024);
  const deadline = Date.now() + 10_000;
  let seq = 0;
  while (conns.length < 2 && Date.now() < deadline) {
    for (let i = 0; i < 10; i++) sender.transport.send('slow', { type: 'app', from: 'n1', seq: seq++, snapshot: { data: payload } });
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(conns.length >= 2, 'the stalled connection was replaced by a new dial');
  assert.ok(sender.lines.some((l) => /lost connection to peer/.test(l.msg)));
  const link = sender.transport.stats().peers[0]!;
  assert.match(link.lastError ?? '', /write buffer full/);

  await sender.transport.stop();
  // The listening port is free again once stop() resolves.
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(senderPort, HOST, () => resolve());
  });
  await new Promise<void>((r) => probe.close(() => r()));
});

test('setPeers dials new members with listeners on port 0', async (t) => {
  const a = node(t, 'a', 0, []);
  const b = node(t, 'b', 0, []);
  await Promise.all([a.transport.start(), b.transport.start()]);
  const peers: PeerAddress[] = [
    { id: 'a', ...a.transport.address() },
    { id: 'b', ...b.transport.address() },
  ];
  assert.ok(peers.every((p) => p.port > 0));
  await a.transport.setPeers(peers);
  await b.transport.setPeers(peers);
  a.transport.send('b', { type: 'hello', from: 'a', seq: 1 });
  await waitFor('delivery after setPeers', () => b.inbox.length === 1);
  await a.transport.setPeers([peers[0]!]);
  assert.deepEqual(a.transport.stats().peers, []);
});

test('an inbound dial that never finishes its handshake is closed after connectTimeoutMs and logged as a timeout', { timeout: 30_000 }, async (t) => {
  const port = await reserveFreePort(HOST);
  const n1 = node(t, 'n1', port, [{ id: 'n1', host: HOST, port }], { connectTimeoutMs: 700 });
  await n1.transport.start();
  const silent = connect(port, HOST);
  t.after(() => silent.destroy());
  const opened = Date.now();
  await new Promise<void>((resolve) => silent.once('connect', () => resolve()));
  // Sends nothing: no ClientHello, so only the server's handshake timeout ends it.
  await new Promise<void>((resolve) => silent.once('close', () => resolve()));
  const heldMs = Date.now() - opened;
  assert.ok(heldMs >= 600, `closed after ${heldMs} ms: not before the bound`);
  assert.ok(heldMs < 4500, `closed after ${heldMs} ms: by the configured 700 ms bound, not a fixed 5 s`);
  assert.ok(n1.lines.some((l) => /no TLS handshake within 700 ms/.test(l.msg)), 'said as a timeout, not as a wrong secret');
  assert.equal(n1.transport.stats().refused, 1);
});
