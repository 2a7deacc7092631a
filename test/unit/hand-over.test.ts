// The hand-over drain's account of itself: when it moves at once, and when its bound runs out, which
// counter held it (kernel sockets with their states, each worker's count). The driver is a stand-in
// for the kernel's view (the real one needs a namespace: test/lab/vip-syn-gate.test.ts, failover.test.ts).
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { drainForHandOver } from '../../cluster/node/hand-over.js';
import type { PendingSocket } from '../../cluster/vip/types.js';

function capture(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l.startsWith('{')) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

const stuck: PendingSocket = {
  local: '198.18.0.100:8080',
  remote: '198.18.0.31:33708',
  state: 'LAST_ACK',
  txQueue: 1,
  rxQueue: 1,
  why: 'unacknowledged',
  weight: 1,
  proc: '01:00000014 00000000 0 0 0 2',
};

test('a drain held by the kernel to its bound names the sockets and the workers', async () => {
  const { logger, lines } = capture();
  let gatedCalls = 0;
  const report = await drainForHandOver({
    driver: {
      quiesce: async () => true,
      unquiesce: async () => undefined,
      pendingConnections: async () => 1,
      pendingSockets: async () => [stuck],
    },
    inFlight: async () => ({ w1: 0, 'w1 keep-alive': 0 }),
    onGated: async () => gatedCalls++,
    logger,
    drainMs: 150,
    pollMs: 10,
  });
  assert.equal(report.gated, true);
  assert.equal(report.idle, false);
  assert.ok(report.waitedMs >= 140, `waited its bound: ${report.waitedMs} ms`);
  assert.equal(gatedCalls, 1, 'the step after the gate ran once');
  const warn = lines.find((l) => l['msg'] === 'work still in flight on the VIP after the drain bound; moving it anyway');
  assert.ok(warn, `warned: ${JSON.stringify(lines)}`);
  assert.deepEqual(warn['sockets'], [stuck]);
  assert.deepEqual(warn['workers'], { w1: 0, 'w1 keep-alive': 0 });
  const heldBy = warn['heldBy'] as { kernel: number; workers: number; workersUnknown: number };
  assert.ok(heldBy.kernel >= 1 && heldBy.workers === 0 && heldBy.workersUnknown === 0, JSON.stringify(heldBy));
});

test('a worker that cannot tell holds the drain; idle everywhere moves at once', async () => {
  const held = capture();
  await drainForHandOver({
    driver: { quiesce: async () => true, unquiesce: async () => undefined, pendingConnections: async () => 0, pendingSockets: async () => [] },
    inFlight: async () => ({ w1: null, w2: 0 }),
    logger: held.logger,
    drainMs: 100,
    pollMs: 10,
  });
  const warn = held.lines.find((l) => typeof l['msg'] === 'string' && (l['msg']).startsWith('work still in flight'));
  assert.ok(warn);
  assert.ok((warn['heldBy'] as { workersUnknown: number }).workersUnknown >= 1);

  const idle = capture();
  const report = await drainForHandOver({
    driver: { quiesce: async () => true, unquiesce: async () => undefined, pendingConnections: async () => 0, pendingSockets: async () => [] },
    inFlight: async () => ({ w1: 0 }),
    logger: idle.logger,
    drainMs: 5000,
  });
  assert.equal(report.idle, true);
  assert.ok(report.waitedMs < 4000, `moved without waiting the bound: ${report.waitedMs} ms`);
  assert.ok(idle.lines.some((l) => l['msg'] === 'nothing in flight on the VIP; moving it'));
});
