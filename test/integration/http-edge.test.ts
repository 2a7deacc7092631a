// The HTTP engine's edge cases through a real worker process: WebSocket tunnelling and request
// smuggling refused before any backend sees a byte.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { startTestNode, type TestNode } from '../support/in-process-node.js';

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

async function nodeFor(backendPort: number): Promise<TestNode> {
  const n = await startTestNode({
    pools: [{ name: 'ws', backends: [{ name: 'b', address: `127.0.0.1:${backendPort}` }] }],
    listeners: [{ name: 'web', mode: 'http', bind: '127.0.0.1:0', routes: [{ pathPrefix: '/', pool: 'ws' }] }],
  });
  cleanups.push(() => n.stop());
  return n;
}

test('WebSocket echo through the HTTP engine', async () => {
  const server = createServer();
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => ws.on('message', (data, binary) => ws.send(data, { binary })));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(async () => {
    for (const c of wss.clients) c.terminate();
    await new Promise((r) => server.close(r));
  });
  const n = await nodeFor((server.address() as AddressInfo).port);
  const ws = new WebSocket(`ws://127.0.0.1:${n.port('web')}/chat`);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const echoes: string[] = [];
  for (const text of ['hello', 'через балансир', 'x'.repeat(100_000)]) {
    ws.send(text);
    echoes.push(await new Promise<string>((resolve) => ws.once('message', (d: Buffer) => resolve(d.toString()))));
  }
  assert.deepEqual(echoes.map((e) => e.length), [5, 14, 100_000]);
  assert.equal(echoes[1], 'через балансир');
  ws.close();
});

test('conflicting Content-Length and Transfer-Encoding get 400 and the backend sees nothing', async () => {
  let seen = 0;
  const backend = createServer((_req, res) => {
    seen++;
    res.end('ok');
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => backend.close(r)));
  const n = await nodeFor((backend.address() as AddressInfo).port);
  const raw = await new Promise<string>((resolve, reject) => {
    const s = connect(n.port('web'), '127.0.0.1', () => {
      s.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n');
    });
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString()));
    s.on('close', () => resolve(got));
    s.on('error', reject);
    setTimeout(() => s.destroy(), 3000).unref();
  });
  assert.match(raw, /^HTTP\/1\.1 400/);
  assert.equal(seen, 0, 'the backend never saw the request nor the smuggled one');
});
