// Transcript tests for log replication: prev index AND term matching, truncating a conflicting
// tail, fast back-off, and the leader committing only entries of its own term (Raft Figure 8).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryStorage } from '../../cluster/raft/memory-storage.js';
import { RaftLog } from '../../cluster/raft/raft-log.js';
import type { Entry } from '../../cluster/raft/types.js';
import { ScriptedCluster, expectTranscript } from '../sim/scripted-cluster.js';

const e = (index: number, term: number): Entry => ({ index, term, type: 'normal', data: new Uint8Array([index]) });

test('an append is accepted only if the entry before it matches in index AND term', () => {
  // The follower holds 1..3 of term 1 and 4 of term 2. An append after (4, term 3) is refused
  // (same index, other term); one after (5, term 2) is refused (we lack index 5); one after
  // (3, term 1) that brings a different entry 4 truncates our 4 and everything after it.
  const s = new MemoryStorage();
  s.append([e(1, 1), e(2, 1), e(3, 1), e(4, 2)]);
  const log = new RaftLog(s);
  assert.equal(log.maybeAppend(4, 3, 0, [e(5, 3)]), null, 'index matches, term does not');
  assert.equal(log.maybeAppend(5, 2, 0, [e(6, 2)]), null, 'prev index beyond our log');
  assert.equal(log.maybeAppend(3, 1, 0, [e(4, 3), e(5, 3)]), 5);
  assert.equal(log.term(4), 3, 'conflicting entry replaced');
  assert.equal(log.lastIndex(), 5);
  // A stale, shorter append that matches must not truncate what follows it.
  assert.equal(log.maybeAppend(3, 1, 0, [e(4, 3)]), 4);
  assert.equal(log.lastIndex(), 5, 'matching prefix does not cut the tail');
  // The follower never commits past what this message vouches for.
  assert.equal(log.maybeAppend(3, 1, 99, [e(4, 3)]), 4);
  assert.equal(log.committed, 4);
});

test('a deposed leader loses its uncommitted log tail and takes the new leader\'s entries', () => {
  // n1 leads and commits "a". It is isolated and accepts three more proposals that can never
  // commit. n2 and n3 elect a new leader, which commits "b" and "c". When n1 rejoins, its entries
  // at those indexes are of an older term: they are truncated and replaced, and n1 applies
  // "b", "c", never the lost ones. Fast back-off finds the divergence in few round trips.
  const c = new ScriptedCluster(['n1', 'n2', 'n3']);
  c.campaign('n1');
  c.propose('n1', 'a');
  c.run(2);
  c.isolate('n1');
  for (const cmd of ['lost1', 'lost2', 'lost3']) c.propose('n1', cmd);
  let l2: string | undefined;
  for (let i = 0; i < 100 && l2 === undefined; i++) {
    c.run(1);
    l2 = c.leaders().find((id) => id !== 'n1');
  }
  assert.ok(l2 !== undefined);
  c.propose(l2, 'b');
  c.propose(l2, 'c');
  c.run(2);
  assert.ok(c.node('n1').raw.status().lastIndex >= 6, 'n1 still holds its tail');
  const before = c.delivered.length;
  c.heal();
  c.run(4);
  const rejects = c.delivered.slice(before).filter((m) => m.type === 'app-resp' && m.from === 'n1' && m.reject).length;
  for (const n of c.nodes.values()) assert.deepEqual(n.applied, ['a', 'b', 'c'], `${n.id} state machine`);
  assert.ok(rejects <= 2, `fast back-off: ${rejects} rejections`);
  expectTranscript(c, ['n1 applied 3 "a"', '-- n1 isolated', 'n1 proposed "lost1"', 'n1 became follower', `${l2} became leader`, '-- network healed', 'n1 applied 5 "b"', 'n1 applied 6 "c"']);
});

test('Figure 8: a leader does not commit an entry of an older term by counting replicas', () => {
  // Five servers; messages carry one entry each so the schedule can be controlled exactly.
  // (a) s1 leads in term 2 and gets "x" (index 3, term 2) to s2 only, then crashes.
  // (b) s5 wins term 3 with s3, s4, appends its no-op at index 3 (term 3), replicates nothing, crashes.
  // (c) s1 restarts, wins term 4 and copies index 3 (term 2) to s3: it is now on a majority
  //     (s1, s2, s3) but is of an older term, so s1 must NOT commit it.
  // (d) s1 crashes; s5 wins term 5 (s3, s4 vote: s5's last term 3 beats their 2) and overwrites
  //     index 3 everywhere. Had s1 committed "x", a committed entry would now be lost.
  const c = new ScriptedCluster(['s1', 's2', 's3', 's4', 's5'], { config: { maxEntriesPerMsg: 1 } });
  assert.equal(c.campaign('s1'), 'leader');
  c.run(1);
  for (const peer of ['s3', 's4', 's5']) c.cut('s1', peer);
  c.propose('s1', 'x');
  c.deliver();
  assert.equal(c.node('s2').raw.status().lastIndex, 3);
  c.crash('s1');
  c.heal();
  // (b)
  c.dropIf((m) => m.from === 's5' && m.type === 'app');
  assert.equal(c.campaign('s5'), 'leader');
  assert.equal(c.node('s5').raw.status().term, 3);
  c.crash('s5');
  c.clearDrops();
  // (c)
  c.restart('s1');
  c.cut('s1', 's4');
  c.cut('s1', 's5');
  // s3 may receive the probe (which it rejects, lacking index 3) and then index 3, but not index 4.
  c.dropIf((m) => m.type === 'app' && m.from === 's1' && m.to === 's3' && m.entries.some((en) => en.index >= 4) && c.node('s3').raw.status().lastIndex >= 3);
  assert.equal(c.campaign('s1'), 'leader');
  c.deliver();
  c.tick(1, ['s1']);
  c.deliver();
  assert.equal(c.node('s1').raw.status().term, 4);
  assert.equal(c.node('s3').raw.status().lastIndex, 3, 's3 holds index 3 from s1');
  assert.equal(c.node('s1').raw.status().commit, 2, 'index 3 is on a majority but of term 2: not committed');
  // (d)
  c.crash('s1');
  c.clearDrops();
  c.heal();
  c.restart('s5');
  assert.equal(c.campaign('s5'), 'leader');
  c.run(3);
  c.restart('s1');
  c.run(5);
  for (const n of c.nodes.values()) {
    assert.equal(n.raw.status().commit, c.node('s5').raw.status().commit, `${n.id} commit`);
    assert.ok(!n.applied.includes('x'), `${n.id} never applied the uncommitted x`);
  }
  expectTranscript(c, ['s1 proposed "x" at 3', '-- s1 crashed', 's5 became leader at term 3', '-- s5 crashed', 's1 became leader at term 4', '-- s1 crashed', 's5 became leader at term 5']);
});

test('pipelining: a follower in replicate state gets at most maxInflight appends before an ack', () => {
  // With the follower's acks held back, the leader keeps sending new entries in separate
  // messages only until maxInflight are outstanding, then waits.
  const c = new ScriptedCluster(['n1', 'n2', 'n3'], { config: { maxInflight: 3 } });
  c.campaign('n1');
  c.run(2);
  c.dropIf((m) => m.type === 'app-resp' && m.from === 'n2');
  const before = c.delivered.length;
  for (let i = 0; i < 10; i++) {
    c.propose('n1', `p${i}`);
    c.deliver();
  }
  const apps = c.delivered.slice(before).filter((m) => m.type === 'app' && m.to === 'n2' && m.entries.length > 0).length;
  assert.equal(apps, 3, 'three appends in flight, then paused');
  c.clearDrops();
  c.run(4);
  assert.equal(c.node('n2').applied.length, 10, 'all ten arrive once acks flow again');
});
