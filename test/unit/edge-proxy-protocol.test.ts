// PROXY protocol v1/v2: encode/parse round trips (IPv4, IPv6, mapped), partial input, refusals,
// and reading a header off a real socket with the bytes behind it left for the next reader.
import assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { test } from 'node:test';
import { encodeV1, encodeV2 } from '../../lb/proxy-protocol/encode.js';
import { parseProxyHeader } from '../../lb/proxy-protocol/parse.js';
import { readProxyHeader } from '../../lb/proxy-protocol/read-header.js';

const V4 = { sourceAddress: '192.0.2.10', sourcePort: 51234, destAddress: '198.51.100.1', destPort: 443 };
const V6 = { sourceAddress: '2001:db8::1', sourcePort: 40000, destAddress: '2001:db8:0:1::ff', destPort: 8443 };

test('v1 round trip for TCP4 and TCP6, and the exact TCP4 line', () => {
  assert.equal(encodeV1(V4).toString(), 'PROXY TCP4 192.0.2.10 198.51.100.1 51234 443\r\n');
  for (const e of [V4, V6]) {
    const r = parseProxyHeader(Buffer.concat([encodeV1(e), Buffer.from('GET / HTTP/1.1\r\n')]));
    assert.equal(r.kind, 'ok');
    if (r.kind !== 'ok') return;
    assert.equal(r.header.version, 1);
    assert.deepEqual({ ...r.header.addresses, family: undefined }, { ...e, family: undefined });
    assert.equal(r.length, encodeV1(e).length);
  }
});

test('v2 round trip for IPv4 and IPv6; IPv4-mapped sources are sent as IPv4', () => {
  for (const e of [V4, V6]) {
    const r = parseProxyHeader(encodeV2(e));
    assert.equal(r.kind, 'ok');
    if (r.kind !== 'ok') return;
    assert.equal(r.header.version, 2);
    assert.equal(r.header.addresses?.sourceAddress, e.sourceAddress);
    assert.equal(r.header.addresses?.destAddress, e.destAddress);
    assert.equal(r.header.addresses?.sourcePort, e.sourcePort);
    assert.equal(r.header.addresses?.destPort, e.destPort);
  }
  const mapped = parseProxyHeader(encodeV2({ ...V4, sourceAddress: '::ffff:192.0.2.10', destAddress: '::ffff:198.51.100.1' }));
  assert.equal(mapped.kind === 'ok' && mapped.header.addresses?.family, 'tcp4');
  assert.equal(encodeV2(V4).length, 28);
  assert.equal(encodeV2(V6).length, 52);
});

test('partial headers ask for more; garbage, bad versions and bad addresses are refused', () => {
  const v2 = encodeV2(V4);
  for (let n = 1; n < v2.length; n++) assert.equal(parseProxyHeader(v2.subarray(0, n)).kind, 'more', `v2 cut at ${n}`);
  const v1 = encodeV1(V4);
  for (let n = 1; n < v1.length; n++) assert.equal(parseProxyHeader(v1.subarray(0, n)).kind, 'more', `v1 cut at ${n}`);
  assert.equal(parseProxyHeader(Buffer.from('GET / HTTP/1.1\r\n')).kind, 'invalid');
  assert.equal(parseProxyHeader(Buffer.from('PROXY TCP4 999.1.1.1 1.1.1.1 1 2\r\n')).kind, 'invalid');
  assert.equal(parseProxyHeader(Buffer.from('PROXY TCP4 1.1.1.1 1.1.1.1 70000 2\r\n')).kind, 'invalid');
  assert.equal(parseProxyHeader(Buffer.from(`PROXY TCP4 ${'1'.repeat(120)}`)).kind, 'invalid');
  const badVersion = Buffer.from(v2);
  badVersion[12] = 0x31;
  assert.equal(parseProxyHeader(badVersion).kind, 'invalid');
  const unknown = parseProxyHeader(Buffer.from('PROXY UNKNOWN\r\n'));
  assert.ok(unknown.kind === 'ok' && unknown.header.addresses === null);
  const local = Buffer.from(v2.subarray(0, 16));
  local[12] = 0x20;
  local.writeUInt16BE(0, 14);
  const l = parseProxyHeader(local);
  assert.ok(l.kind === 'ok' && l.header.addresses === null, 'LOCAL carries no addresses');
});

async function serverSocket(send: (c: Socket) => void): Promise<{ socket: Socket; close: () => void }> {
  const server = createServer({ pauseOnConnect: true });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const accepted = new Promise<Socket>((r) => server.once('connection', r));
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1', () => send(client));
  const socket = await accepted;
  return {
    socket,
    close: () => {
      client.destroy();
      socket.destroy();
      server.close();
    },
  };
}

test('readProxyHeader takes the header (sent in pieces) and leaves the following bytes in order', async () => {
  const header = encodeV2(V6);
  const { socket, close } = await serverSocket((c) => {
    c.write(header.subarray(0, 5));
    setTimeout(() => c.write(Buffer.concat([header.subarray(5), Buffer.from('hello')])), 30);
    setTimeout(() => c.write(' world'), 60);
  });
  try {
    const r = await readProxyHeader(socket, 2000);
    assert.ok(r.ok);
    assert.equal(r.header.addresses?.sourceAddress, '2001:db8::1');
    let rest = '';
    socket.on('data', (d: Buffer) => (rest += d.toString()));
    socket.resume();
    const deadline = Date.now() + 3000;
    while (rest !== 'hello world' && Date.now() < deadline) await new Promise((res) => setTimeout(res, 10));
    assert.equal(rest, 'hello world');
  } finally {
    close();
  }
});

test('readProxyHeader refuses a connection without a header, and one that stays silent', async () => {
  const plain = await serverSocket((c) => c.write('GET / HTTP/1.1\r\n\r\n'));
  try {
    const r = await readProxyHeader(plain.socket, 2000);
    assert.equal(r.ok, false);
  } finally {
    plain.close();
  }
  const silent = await serverSocket(() => undefined);
  try {
    const began = Date.now();
    const r = await readProxyHeader(silent.socket, 150);
    assert.equal(r.ok, false);
    assert.ok(!r.ok && /within 150 ms/.test(r.reason));
    assert.ok(Date.now() - began < 3000);
  } finally {
    silent.close();
  }
});
