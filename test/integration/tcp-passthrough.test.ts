// TCP passthrough through a real node: byte-exact bulk transfer with half-close, a long-lived
// connection surviving live changes, and a worker process dying while the other keeps serving.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { after, test } from 'node:test';
import { normalizeBackend } from '../../config/normalize.js';
import { startTestNode, type TestNode } from '../support/in-process-node.js';
import { startEchoOrigin, startHashSink, type TcpOrigin } from '../support/tcp-origin.js';

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

async function tcpNode(backends: TcpOrigin[], workers = 1): Promise<TestNode> {
  const n = await startTestNode(
    {
      pools: [{ name: 'p', backends: backends.map((o, i) => ({ name: `b${i + 1}`, address: o.address })) }],
      listeners: [{ name: 'tcp', mode: 'tcp', bind: '127.0.0.1:0', pool: 'p' }],
    },
    { workers },
  );
  cleanups.push(() => n.stop());
  return n;
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, allowHalfOpen: true }, () => resolve(s));
    s.once('error', reject);
  });
}

function echo(s: Socket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const onData = (d: Buffer) => {
      got += d.toString();
      if (got.length >= text.length) {
        s.off('data', onData);
        resolve(got);
      }
    };
    s.on('data', onData);
    s.once('error', reject);
    s.write(text);
  });
}

test('100 MB through the TCP engine arrives byte-exact, and half-close carries the answer back', async () => {
  const sink = await startHashSink();
  cleanups.push(() => sink.close());
  const n = await tcpNode([sink]);
  const s = await open(n.port('tcp'));
  const hash = createHash('sha256');
  const chunk = randomBytes(1 << 20);
  const started = Date.now();
  const answer = new Promise<string>((resolve) => {
    let text = '';
    s.on('data', (d: Buffer) => (text += d.toString()));
    s.on('end', () => resolve(text));
  });
  for (let i = 0; i < 100; i++) {
    const piece = Buffer.from(chunk);
    piece.writeUInt32BE(i, 0);
    hash.update(piece);
    if (!s.write(piece)) await new Promise((r) => s.once('drain', r));
  }
  s.end();
  const [bytes, digest] = (await answer).split(' ');
  const secs = (Date.now() - started) / 1000;
  console.log(`100 MiB through ballast tcp in ${secs.toFixed(2)}s (${(100 / secs).toFixed(0)} MiB/s)`);
  assert.equal(Number(bytes), 100 * (1 << 20));
  assert.equal(digest, hash.digest('hex'));
});

test('a long-lived connection survives adding a backend, a weight change and a drain of its backend', async () => {
  const [a, b] = [await startEchoOrigin(), await startEchoOrigin()];
  cleanups.push(() => a.close(), () => b.close());
  const n = await tcpNode([a]);
  const s = await open(n.port('tcp'));
  cleanups.push(async () => s.destroy());
  assert.equal(await echo(s, 'one'), 'one');
  await n.change({ v: 1, op: 'backend.add', pool: 'p', backend: normalizeBackend({ name: 'b2', address: b.address }, 'b') });
  assert.equal(await echo(s, 'two'), 'two');
  await n.change({ v: 1, op: 'backend.patch', pool: 'p', backend: 'b1', changes: { weight: 9 } });
  assert.equal(await echo(s, 'three'), 'three');
  await n.change({ v: 1, op: 'backend.patch', pool: 'p', backend: 'b1', changes: { state: 'drain' } });
  assert.equal(await echo(s, 'four'), 'four');
  // New connections now go to b2 only.
  const before = b.connections();
  const s2 = await open(n.port('tcp'));
  assert.equal(await echo(s2, 'new'), 'new');
  assert.equal(b.connections(), before + 1);
  s2.destroy();
});

test('a worker killed with SIGKILL is restarted while the other worker keeps serving', async () => {
  const e = await startEchoOrigin();
  cleanups.push(() => e.close());
  const n = await tcpNode([e], 2);
  const pids = n.node.supervisor!.pids();
  assert.equal(pids.length, 2);
  process.kill(pids[0]!, 'SIGKILL');
  // While one worker is down, every new connection is still served (the kernel hands accepts to the survivor).
  for (let i = 0; i < 20; i++) {
    const s = await open(n.port('tcp'));
    assert.equal(await echo(s, `ping${i}`), `ping${i}`);
    s.destroy();
  }
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const now = n.node.supervisor!.pids();
    if (now.length === 2 && !now.includes(pids[0]!)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const now = n.node.supervisor!.pids();
  assert.equal(now.length, 2, 'back to two workers');
  assert.ok(!now.includes(pids[0]!), 'the dead worker was replaced');
  await n.node.supervisor!.waitApplied(n.node.store!.read().version, 10_000);
});
