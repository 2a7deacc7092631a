// The in-memory transport fake: async delivery, byte copies, partitions, stopped nodes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryNetwork } from '../../cluster/transport/memory-transport.js';

interface Msg {
  seq: number;
  data?: Uint8Array;
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(() => setImmediate(r)));

test('memory network delivers copies asynchronously and honours partitions', async () => {
  const net = new MemoryNetwork();
  const a = net.transport<Msg>('a');
  const b = net.transport<Msg>('b');
  const c = net.transport<Msg>('c');
  const got: { a: [string, Msg][]; b: [string, Msg][]; c: [string, Msg][] } = { a: [], b: [], c: [] };
  a.onMessage((from, m) => got.a.push([from, m]));
  b.onMessage((from, m) => got.b.push([from, m]));
  c.onMessage((from, m) => got.c.push([from, m]));
  await Promise.all([a.start(), b.start(), c.start()]);

  const data = Uint8Array.of(1, 2, 3);
  a.send('b', { seq: 1, data });
  assert.equal(got.b.length, 0, 'delivery is never synchronous');
  await settle();
  assert.deepEqual(got.b, [['a', { seq: 1, data: Uint8Array.of(1, 2, 3) }]]);
  assert.notEqual(got.b[0]![1].data, data, 'the receiver gets its own copy');

  net.partition('a', 'b');
  a.send('b', { seq: 2 });
  b.send('a', { seq: 3 });
  a.send('c', { seq: 4 });
  await settle();
  assert.equal(got.b.length, 1);
  assert.equal(got.a.length, 0);
  assert.deepEqual(got.c, [['a', { seq: 4 }]]);
  net.heal();
  net.isolate('c');
  c.send('a', { seq: 5 });
  await c.stop();
  a.send('c', { seq: 6 });
  net.heal();
  a.send('c', { seq: 7 });
  b.send('a', { seq: 8 });
  await settle();
  assert.equal(got.c.length, 1, 'a stopped node receives nothing');
  assert.deepEqual(got.a, [['b', { seq: 8 }]]);
  assert.equal(net.dropped, 5);
  assert.equal(net.delivered, 3);
});
