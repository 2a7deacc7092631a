// The three roles as step functions (etcd's stepFollower / stepCandidate / stepLeader): a node's
// role is whichever function is installed, so a message can only do what its role allows.
import type { Raft } from './raft.js';
import type { Message } from './types.js';

export type StepFn = (r: Raft, m: Message) => void;

export function stepFollower(r: Raft, m: Message): void {
  switch (m.type) {
    case 'app':
      r.heardFromLeader(m);
      r.handleAppend(m);
      return;
    case 'heartbeat':
      r.heardFromLeader(m);
      r.handleHeartbeat(m);
      return;
    case 'snap':
      r.heardFromLeader(m);
      r.handleSnapshot(m);
      return;
    case 'timeout-now':
      r.hup(true);
      return;
    case 'read-index-resp':
      if (!m.reject) r.readStates.push({ index: m.index, ctx: m.ctx });
      return;
    case 'read-index':
    case 'app-resp':
    case 'heartbeat-resp':
    case 'vote-resp':
    case 'pre-vote-resp':
    case 'vote':
    case 'pre-vote':
      return;
    default: {
      const never: never = m;
      return never;
    }
  }
}

export function stepCandidate(r: Raft, m: Message): void {
  switch (m.type) {
    case 'app':
    case 'heartbeat':
    case 'snap':
      // A leader exists in our term (for a pre-candidate, in the term we have not left): follow it.
      r.becomeFollower(m.term, m.from);
      stepFollower(r, m);
      return;
    case 'vote-resp':
    case 'pre-vote-resp': {
      const expected = r.role === 'pre-candidate' ? 'pre-vote-resp' : 'vote-resp';
      if (m.type !== expected) return;
      const res = r.poll(m.from, !m.reject);
      if (res === 'won') {
        if (r.role === 'pre-candidate') r.hupAfterPreVote();
        else r.winElection();
      } else if (res === 'lost') {
        r.becomeFollower(r.term, null);
      }
      return;
    }
    case 'timeout-now':
    case 'read-index':
    case 'read-index-resp':
    case 'app-resp':
    case 'heartbeat-resp':
    case 'vote':
    case 'pre-vote':
      return;
    default: {
      const never: never = m;
      return never;
    }
  }
}

export function stepLeader(r: Raft, m: Message): void {
  switch (m.type) {
    case 'app-resp':
      r.handleAppendResponse(m);
      return;
    case 'heartbeat-resp':
      r.handleHeartbeatResponse(m.from, m.round);
      return;
    case 'read-index':
      r.handleReadRequest(m.ctx, m.from);
      return;
    case 'app':
    case 'heartbeat':
    case 'snap':
    case 'timeout-now':
    case 'read-index-resp':
    case 'vote-resp':
    case 'pre-vote-resp':
    case 'vote':
    case 'pre-vote':
      return;
    default: {
      const never: never = m;
      return never;
    }
  }
}
