// The wire codec carries Uint8Array byte-exact through JSON and refuses what JSON would mangle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeWire, encodeWire } from '../../cluster/transport/wire-codec.js';
import { TransportError } from '../../cluster/transport/errors.js';

const viaJson = (v: unknown): unknown => decodeWire(JSON.parse(JSON.stringify(encodeWire(v))));

test('messages with byte fields survive a JSON round trip byte-exact', () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  const backing = new Uint8Array(64).fill(9);
  const view = backing.subarray(10, 20);
  view[0] = 1;
  const msg = {
    type: 'app',
    from: 'n1',
    term: 3,
    entries: [
      { index: 1, term: 3, type: 'normal', data: all },
      { index: 2, term: 3, type: 'normal', data: new Uint8Array(0) },
      { index: 3, term: 3, type: 'normal', data: view },
    ],
    snapshot: { meta: { index: 0, term: 0, conf: { voters: ['n1'], learners: [] } }, data: Buffer.from('buffer bytes') },
    nested: [[1, 2], { ok: true, none: null }],
  };
  const back = viaJson(msg) as typeof msg;
  assert.deepEqual(back.entries[0]?.data, all);
  assert.deepEqual(back.entries[1]?.data, new Uint8Array(0));
  assert.deepEqual(back.entries[2]?.data, Uint8Array.of(1, 9, 9, 9, 9, 9, 9, 9, 9, 9), 'a view encodes only its own bytes');
  assert.ok(!Buffer.isBuffer(back.snapshot.data), 'bytes come back as plain Uint8Array');
  assert.deepEqual(back.snapshot.data, new Uint8Array(Buffer.from('buffer bytes')));
  assert.deepEqual({ ...back, entries: [], snapshot: null }, { ...msg, entries: [], snapshot: null });
});

test('objects that look like encoded bytes are escaped, not confused', () => {
  const tricky = { $u8: 'aGk=', other: { $esc: { a: 1 } }, list: [{ $u8: 'x' }] };
  assert.deepEqual(viaJson(tricky), tricky);
  assert.deepEqual(viaJson({ a: undefined, b: 1 }), { b: 1 });
});

test('values JSON would silently change are refused with the path named', () => {
  const cases: [unknown, RegExp][] = [
    [{ a: () => 1 }, /message\.a is a function/],
    [{ n: NaN }, /message\.n is NaN/],
    [{ n: Infinity }, /message\.n is Infinity/],
    [{ b: 10n }, /message\.b is a bigint/],
    [{ m: new Map() }, /message\.m is a Map/],
    [{ d: new Date(0) }, /message\.d is a Date/],
    [{ list: [1, undefined] }, /message\.list\[1\] is undefined/],
  ];
  for (const [value, why] of cases) {
    assert.throws(() => encodeWire(value), (err: unknown) => err instanceof TransportError && err.code === 'TRANSPORT_ERR_ENCODE' && why.test(err.message));
  }
  assert.throws(() => decodeWire({ $u8: 5 }), (err: unknown) => err instanceof TransportError && err.code === 'TRANSPORT_ERR_DECODE');
});
