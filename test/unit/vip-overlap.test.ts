// overlapOf: how long two or more namespaces held the VIP at once, from a stream of holder events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { overlapOf } from '../../scripts/lab/vip-watch.js';
import type { VipEvent } from '../../scripts/lab/vip-watch.js';

const ev = (atMs: number, ns: string, held: boolean): VipEvent => ({ atMs, ns, held });

test('a clean handover has no overlap', () => {
  assert.equal(overlapOf([ev(0, 'n1', true), ev(100, 'n1', false), ev(150, 'n2', true)], 1000), 0);
});

test('overlap is summed across episodes, in time order whatever the read order', () => {
  const events = [ev(0, 'n1', true), ev(100, 'n2', true), ev(130, 'n1', false), ev(500, 'n3', true), ev(510, 'n3', false)];
  assert.equal(overlapOf(events, 1000), 40);
  assert.equal(overlapOf([...events].reverse(), 1000), 40);
});

test('an overlap still open counts up to now; three holders count once', () => {
  assert.equal(overlapOf([ev(0, 'n1', true), ev(10, 'n2', true), ev(20, 'n3', true), ev(30, 'n3', false)], 110), 100);
});

test('repeated adds of the same holder are not an overlap', () => {
  assert.equal(overlapOf([ev(0, 'n1', true), ev(10, 'n1', true), ev(20, 'n1', false)], 100), 0);
});
