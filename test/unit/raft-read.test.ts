// Transcript tests for linearizable reads (ReadIndex, lease reads) and the leader lease arithmetic.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ScriptedCluster, expectTranscript } from '../sim/scripted-cluster.js';

test('ReadIndex: confirmed by a quorum heartbeat round, never by the leader alone', () => {
  // n1 leads and has committed "a". Cut off from both followers, it cannot confirm a read (it
  // might have been deposed). When the followers answer the next round, the read is served at
  // the commit index it had when asked.
  const c = new ScriptedCluster(['n1', 'n2', 'n3']);
  c.campaign('n1');
  c.propose('n1', 'a');
  c.run(2);
  const commit = c.node('n1').raw.status().commit;
  c.isolate('n1');
  c.node('n1').raw.readIndex('r1');
  c.drain(c.node('n1'));
  c.deliver();
  assert.deepEqual(c.node('n1').readStates, []);
  c.heal();
  c.run(1);
  assert.deepEqual(c.node('n1').readStates, [{ index: commit, ctx: 'r1' }]);
  expectTranscript(c, ['-- n1 isolated', '-- network healed', `n1 read "r1" at index ${commit}`]);
});

test('ReadIndex on a new leader waits until it has committed an entry of its term', () => {
  // Right after winning, n1 does not know the real commit index (earlier leaders may have
  // committed more). The read is held until n1's no-op commits.
  const c = new ScriptedCluster(['n1', 'n2', 'n3']);
  c.dropIf((m) => m.type === 'app-resp' && m.to === 'n1');
  c.campaign('n1');
  c.node('n1').raw.readIndex('early');
  c.drain(c.node('n1'));
  c.deliver();
  assert.deepEqual(c.node('n1').readStates, []);
  c.clearDrops();
  c.run(2);
  const st = c.node('n1').raw.status();
  assert.deepEqual(c.node('n1').readStates, [{ index: st.commit, ctx: 'early' }]);
});

test('ReadIndex from a follower is forwarded to the leader and answered to the follower', () => {
  const c = new ScriptedCluster(['n1', 'n2', 'n3']);
  c.campaign('n1');
  c.propose('n1', 'a');
  c.run(2);
  c.node('n2').raw.readIndex('f1');
  c.drain(c.node('n2'));
  c.run(1);
  assert.deepEqual(c.node('n2').readStates, [{ index: c.node('n1').raw.status().commit, ctx: 'f1' }]);
});

test('lease reads: served at once while the lease is valid, no heartbeat round needed', () => {
  const c = new ScriptedCluster(['n1', 'n2', 'n3'], { config: { readOnly: 'lease' } });
  c.campaign('n1');
  c.run(2);
  c.drain(c.node('n1'));
  c.deliver();
  const before = c.delivered.length;
  c.node('n1').raw.readIndex('fast');
  c.drain(c.node('n1'));
  assert.deepEqual(c.node('n1').readStates.map((r) => r.ctx), ['fast']);
  c.deliver();
  assert.equal(c.delivered.slice(before).filter((m) => m.type === 'heartbeat').length, 0);
});

test('the lease runs to (send time of the last quorum-acked round) + election timeout x (1 - drift) - margin', () => {
  // Election timeout 10 ticks x 100 ms, drift 0.1, margin 100 ms: a round sent at time t that a
  // quorum acknowledges gives a lease until t + 800 ms of the leader's clock. Cut off from the
  // followers, the leader loses the lease at that instant, before check-quorum makes it step down.
  const c = new ScriptedCluster(['n1', 'n2', 'n3']);
  c.campaign('n1');
  c.run(3);
  const n1 = c.node('n1');
  const lastRoundSentAt = n1.now; // run() ticks (starting a round) and then delivers its acks
  assert.equal(n1.raw.lease().validUntil, lastRoundSentAt + 800);
  c.isolate('n1');
  let lostAt = -1;
  for (let i = 0; i < 12 && lostAt < 0; i++) {
    c.run(1);
    if (!n1.raw.lease().valid) lostAt = n1.now;
  }
  assert.equal(lostAt, lastRoundSentAt + 800);
  assert.equal(n1.raw.status().role, 'leader', 'still leader (check-quorum has not fired) but holds no lease');
});
