// The per-peer queue stays bounded (evicting the oldest) and reconnect delays grow, jitter and cap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BoundedQueue } from '../../cluster/transport/bounded-queue.js';
import { Backoff } from '../../cluster/transport/backoff.js';

test('a full queue drops its oldest item and reports it', () => {
  const q = new BoundedQueue<number>(3);
  assert.deepEqual([1, 2, 3].map((n) => q.push(n)), [false, false, false]);
  assert.equal(q.push(4), true);
  assert.equal(q.push(5), true);
  assert.equal(q.length, 3);
  assert.deepEqual([q.shift(), q.shift()], [3, 4]);
  q.push(6);
  q.push(7);
  assert.deepEqual([q.shift(), q.shift(), q.shift(), q.shift()], [5, 6, 7, undefined]);
  for (let i = 0; i < 10_000; i++) q.push(i);
  assert.equal(q.length, 3);
  q.clear();
  assert.equal(q.length, 0);
  assert.throws(() => new BoundedQueue(0), RangeError);
});

test('backoff doubles with jitter between half and all of the ceiling, capped, and resets', () => {
  const low = new Backoff(100, 1000, () => 0);
  assert.deepEqual(Array.from({ length: 6 }, () => low.next()), [50, 100, 200, 400, 500, 500]);
  const high = new Backoff(100, 1000, () => 0.999999);
  assert.deepEqual(Array.from({ length: 6 }, () => high.next()), [100, 200, 400, 800, 1000, 1000]);
  high.reset();
  assert.equal(high.next(), 100);
  let seed = 7;
  const rnd = (): number => {
    seed = (seed * 16807) % 2147483647;
    return seed / 2147483647;
  };
  const b = new Backoff(100, 5000, rnd);
  for (let i = 0; i < 200; i++) {
    const d = b.next();
    assert.ok(d >= 50 && d <= 5000, `delay ${d}`);
  }
  assert.throws(() => new Backoff(0, 10, Math.random), RangeError);
});
