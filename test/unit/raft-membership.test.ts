// Transcript tests for membership: one change at a time, the new leader's no-op before any change
// (Ongaro's single-server bug), snapshot install to a new member, promotion and removal.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RaftError } from '../../cluster/raft/errors.js';
import { ScriptedCluster, expectTranscript } from '../sim/scripted-cluster.js';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof RaftError) return e.code;
    throw e;
  }
  return 'no error';
}

test('a new leader commits its no-op before it accepts a membership change, and one change at a time', () => {
  // n1 wins the election, but the acks for its no-op are held back. A membership change now could
  // combine with an uncommitted change of a previous leader and let two majorities elect two
  // leaders in one term (Ongaro, raft-dev 2015), so it is refused. Once the no-op commits, one
  // change is accepted; a second is refused until the first is applied.
  const c = new ScriptedCluster(['n1', 'n2', 'n3'], { joining: ['n4', 'n5'] });
  c.dropIf((m) => m.type === 'app-resp' && m.to === 'n1');
  assert.equal(c.campaign('n1'), 'leader');
  const n1 = c.node('n1').raw;
  assert.ok(n1.status().commit < n1.status().lastIndex, 'no-op not yet committed');
  assert.equal(code(() => n1.proposeConfChange({ type: 'add-learner', node: 'n4' })), 'RAFT_ERR_CONF_CHANGE_PENDING');
  c.clearDrops();
  c.run(2);
  assert.equal(n1.status().commit, n1.status().lastIndex, 'no-op committed');
  n1.proposeConfChange({ type: 'add-learner', node: 'n4' });
  assert.equal(code(() => n1.proposeConfChange({ type: 'add-learner', node: 'n5' })), 'RAFT_ERR_CONF_CHANGE_PENDING');
  c.drain(c.node('n1'));
  c.run(3);
  assert.deepEqual(n1.status().conf, { voters: ['n1', 'n2', 'n3'], learners: ['n4'] });
  n1.proposeConfChange({ type: 'add-learner', node: 'n5' });
  assert.equal(code(() => n1.proposeConfChange({ type: 'remove', node: 'n9' })), 'RAFT_ERR_CONF_CHANGE_PENDING');
  c.drain(c.node('n1'));
  c.run(3);
  assert.equal(code(() => n1.proposeConfChange({ type: 'remove', node: 'n9' })), 'RAFT_ERR_INVALID_CONF_CHANGE');
  assert.equal(code(() => c.node('n2').raw.proposeConfChange({ type: 'remove', node: 'n3' })), 'RAFT_ERR_NOT_LEADER');
});

test('a new member is brought up by snapshot, promoted to voter, and the old leader removes itself', () => {
  // n1 leads and applies three commands, then compacts its log. n4 joins with an empty log as a
  // learner: the entries it needs are gone, so n1 sends its snapshot; n4 installs it and takes
  // the rest by appends. n4 is promoted to voter. Then n1 removes itself: it steps down once the
  // change is applied, and the remaining voters elect a leader that keeps committing.
  const c = new ScriptedCluster(['n1', 'n2', 'n3'], { joining: ['n4'] });
  c.campaign('n1');
  for (const cmd of ['a', 'b', 'c']) c.propose('n1', cmd);
  c.run(2);
  const snap = c.compact('n1');
  assert.equal(snap.meta.index, 5);
  assert.deepEqual(snap.meta.conf.voters, ['n1', 'n2', 'n3']);
  c.node('n1').raw.proposeConfChange({ type: 'add-learner', node: 'n4' });
  c.drain(c.node('n1'));
  c.propose('n1', 'd');
  c.run(4);
  assert.deepEqual(c.node('n4').applied, ['a', 'b', 'c', 'd'], 'n4 state from snapshot plus appends');
  assert.deepEqual(c.node('n4').raw.status().conf, { voters: ['n1', 'n2', 'n3'], learners: ['n4'] });
  assert.equal(c.node('n4').raw.status().role, 'follower');
  c.node('n1').raw.proposeConfChange({ type: 'add-voter', node: 'n4' });
  c.drain(c.node('n1'));
  c.run(3);
  assert.deepEqual(c.node('n1').raw.status().conf.voters, ['n1', 'n2', 'n3', 'n4']);
  c.node('n1').raw.proposeConfChange({ type: 'remove', node: 'n1' });
  c.drain(c.node('n1'));
  c.run(2);
  assert.equal(c.node('n1').raw.status().role, 'follower', 'removed leader stepped down');
  let l: string | undefined;
  for (let i = 0; i < 100 && l === undefined; i++) {
    c.run(1);
    l = c.leaders()[0];
  }
  assert.ok(l !== undefined && l !== 'n1');
  c.propose(l, 'e');
  c.run(3);
  for (const id of ['n2', 'n3', 'n4']) assert.deepEqual(c.node(id).applied.slice(-2), ['d', 'e']);
  expectTranscript(c, ['n1 compacted its log at 5', 'n4 installed snapshot at 5', 'n4 applied 7 "d"', 'conf-change {"type":"add-voter","node":"n4"}', 'n1 became follower', 'became leader']);
});
