// The event-loop stall warning: a real busy loop longer than the threshold is reported with its length
// and, past the election timeout, with what it may have cost; an unblocked loop says nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { watchStalls } from '../../cluster/node/stall-watch.js';

function capture(): { logger: pino.Logger; lines: { msg: string; stalledMs: number }[] } {
  const lines: { msg: string; stalledMs: number }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as { msg: string; stalledMs: number });
      cb();
    },
  });
  return { logger: pino({ level: 'warn' }, stream), lines };
}

test('a stall past the threshold is logged with its length; past the election timeout, with the consequence', async () => {
  const { logger, lines } = capture();
  const watch = watchStalls(logger, 300, 400);
  try {
    await sleep(300);
    const until = Date.now() + 700;
    while (Date.now() < until) {
      // The loop is stopped, as execSync stops it.
    }
    await sleep(400);
  } finally {
    watch.stop();
  }
  // Measured from the last tick, so at least the busy time less one 250 ms period.
  const warn = lines.find((l) => l.stalledMs >= 450);
  assert.ok(warn, JSON.stringify(lines));
  assert.match(warn.msg, /event loop stopped for \d+ ms, longer than the election timeout/);
});

test('a loop that keeps turning says nothing', async () => {
  const { logger, lines } = capture();
  const watch = watchStalls(logger, 10_000, 20_000);
  await sleep(800);
  watch.stop();
  assert.deepEqual(lines, []);
});
