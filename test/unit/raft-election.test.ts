// Transcript tests for elections: pre-vote, check-quorum, vote promises (leases) and the
// pre-vote + check-quorum liveness cases (etcd #8334, #9586).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ScriptedCluster, expectTranscript } from '../sim/scripted-cluster.js';

test('a new cluster elects one leader, which commits a no-op of its term before anything else', () => {
  // Three founding members start together. Each refuses votes for one election timeout (it cannot
  // know what it promised before it started), then one times out, wins pre-vote and vote, and
  // commits an empty entry of its own term.
  const c = new ScriptedCluster(['n1', 'n2', 'n3']);
  const leader = c.electLeader();
  const st = c.node(leader).raw.status();
  expectTranscript(c, [`${leader} became pre-candidate at term 1`, `${leader} became candidate at term 2`, `${leader} became leader at term 2`]);
  assert.equal(c.leaders().length, 1);
  assert.equal(st.commit, 2, 'bootstrap snapshot at 1, the no-op at 2');
  for (const n of c.nodes.values()) assert.deepEqual(n.applied, [], 'the no-op is not a command');
});

test('pre-vote: a node rejoining after a partition does not disrupt the leader', () => {
  // n3 is cut off for a long time. Without pre-vote it would bump its term again and again and,
  // on rejoining, force the healthy leader n1 to step down. With pre-vote it asks first, nobody
  // answers, and its term stays where it was; when the partition heals it simply follows n1.
  const c = new ScriptedCluster(['n1', 'n2', 'n3']);
  const leader = c.campaign('n1');
  assert.equal(leader, 'leader');
  const term = c.node('n1').raw.status().term;
  c.isolate('n3');
  c.run(100);
  assert.equal(c.node('n3').raw.status().term, term, 'isolated node never bumped its term');
  assert.ok(c.events(/n3 became pre-candidate/).length > 0, 'it did try (pre-vote)');
  c.heal();
  c.run(5);
  c.propose('n1', 'after-heal');
  c.run(3);
  assert.equal(c.node('n1').raw.status().role, 'leader');
  assert.equal(c.node('n1').raw.status().term, term, 'the leader was not disturbed');
  assert.deepEqual(c.node('n3').applied, ['after-heal']);
  expectTranscript(c, ['n1 became leader', '-- n3 isolated', 'n3 became pre-candidate', '-- network healed', 'n3 became follower', 'n3 applied']);
});

test('check-quorum: a leader cut off from the majority steps down and loses its lease', () => {
  // n1 leads and holds a lease. It is then isolated. Within an election timeout it notices that
  // no quorum answered and steps down. n2 and n3 keep their promise to n1 until it has lapsed,
  // then elect one of them. At no point do n1 and the new leader both hold a valid lease.
  const c = new ScriptedCluster(['n1', 'n2', 'n3']);
  c.campaign('n1');
  c.run(3);
  assert.equal(c.node('n1').raw.lease().valid, true);
  c.isolate('n1');
  let both = false;
  let newLeader: string | null = null;
  for (let i = 0; i < 100 && newLeader === null; i++) {
    c.run(1);
    const valid = [...c.nodes.values()].filter((n) => n.raw.lease().valid).map((n) => n.id);
    if (valid.length > 1) both = true;
    newLeader = c.leaders().find((id) => id !== 'n1') ?? null;
  }
  assert.equal(both, false, 'two valid leases at once');
  assert.notEqual(newLeader, null, 'the majority elected a new leader');
  assert.equal(c.node('n1').raw.status().role, 'follower');
  assert.equal(c.node('n1').raw.lease().valid, false);
  expectTranscript(c, ['-- n1 isolated', 'n1 became follower', 'became leader at term 3']);
});

test('etcd #9586/#8334: with pre-vote and check-quorum, the followers of a vanished leader elect one of them', () => {
  // n1 leads, then is isolated. n2 and n3 both time out at about the same time and become
  // pre-candidates. A pre-candidate must forget the old leader, or each would reject the other's
  // pre-vote as "leader still in lease" and no one could ever win (the etcd bug). Here both
  // campaign in the same tick; within a bounded number of ticks one of them leads.
  const c = new ScriptedCluster(['n1', 'n2', 'n3'], { seed: 9586 });
  c.campaign('n1');
  c.run(2);
  c.isolate('n1');
  c.advanceClocks(1000);
  c.tick(30, ['n2', 'n3']);
  assert.equal(c.node('n2').raw.status().role, 'pre-candidate');
  assert.equal(c.node('n3').raw.status().role, 'pre-candidate');
  let leader: string | undefined;
  for (let i = 0; i < 60 && leader === undefined; i++) {
    c.deliver();
    c.tick(1, ['n2', 'n3']);
    leader = c.leaders().find((id) => id !== 'n1');
  }
  assert.ok(leader !== undefined, `no leader among n2, n3:\n${c.transcript.join('\n')}`);
});

test('a node whose term ran ahead rejoins: the stale leader hears the higher term and a new election follows', () => {
  // n3 comes back from a partition with a much higher term (as from an old version without
  // pre-vote). It ignores n1's heartbeats of the lower term, and its vote requests are refused
  // by nodes in n1's lease. Unless it answers the old-term heartbeat with its own term, it would
  // be stuck forever (etcd: "respond to lower-term MsgApp/MsgHeartbeat when checkQuorum/preVote").
  const c = new ScriptedCluster(['n1', 'n2', 'n3']);
  c.campaign('n1');
  c.propose('n1', 'x');
  c.run(3);
  c.crash('n3');
  c.node('n3').disk.hardState = { ...c.node('n3').disk.hardState, term: 9, vote: null };
  c.restart('n3');
  let converged = false;
  for (let i = 0; i < 200 && !converged; i++) {
    c.run(1);
    const l = c.leaders();
    if (l.length === 1) {
      const st = c.node(l[0] as string).raw.status();
      converged = st.term > 9 && [...c.nodes.values()].every((n) => n.raw.status().term === st.term);
    }
  }
  assert.ok(converged, `cluster did not converge above term 9:\n${c.transcript.slice(-20).join('\n')}`);
  const l = c.leaders()[0] as string;
  c.propose(l, 'y');
  c.run(3);
  for (const n of c.nodes.values()) assert.deepEqual(n.applied.slice(-1), ['y'], `${n.id} applied y`);
  expectTranscript(c, ['-- n3 restarted', 'n1 became follower at term 9']);
});

test('a follower in a leader lease ignores vote requests; a restarted node refuses votes for one election timeout', () => {
  // n1 leads. n2 is made to campaign while n1 is healthy (its clock is pushed ahead so its own
  // promise has lapsed): n3 still hears n1, so n3 refuses the pre-vote and n1 stays leader.
  const c = new ScriptedCluster(['n1', 'n2', 'n3']);
  c.campaign('n1');
  c.run(2);
  const term = c.node('n1').raw.status().term;
  c.cut('n1', 'n2');
  c.node('n2').now += 5000;
  c.run(25);
  assert.equal(c.node('n1').raw.status().role, 'leader');
  assert.equal(c.node('n1').raw.status().term, term);
  assert.equal(c.node('n2').raw.status().term, term, 'n2 got no pre-vote quorum');
  // Now n3 restarts. Even if n1 disappears at once, n3 grants no vote until an election timeout
  // (10 ticks of 100 ms) of its own clock has passed since it started.
  c.heal();
  c.run(3);
  c.crash('n3');
  c.restart('n3');
  const restartedAt = c.node('n3').now;
  c.crash('n1');
  let votedAt: number | null = null;
  for (let i = 0; i < 60 && votedAt === null; i++) {
    c.run(1);
    if (c.node('n3').raw.status().vote === 'n2' || c.node('n3').raw.status().leader === 'n2') votedAt = c.node('n3').now;
  }
  assert.ok(votedAt !== null, 'n2 eventually won n3 over');
  assert.ok(votedAt - restartedAt >= 1000, `n3 voted ${votedAt - restartedAt} ms after restart`);
});
