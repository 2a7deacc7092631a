// Majority arithmetic over the voters of one configuration (etcd's quorum.MajorityConfig).
import type { NodeId } from './types.js';

export function quorumSize(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

/**
 * The largest value that a majority of voters has reached (e.g. the commit index from match indexes,
 * or the newest heartbeat round a majority acknowledged). Missing voters count as 0.
 */
export function majorityValue(voters: readonly NodeId[], valueOf: (id: NodeId) => number): number {
  if (voters.length === 0) return Number.MAX_SAFE_INTEGER;
  const vals = voters.map(valueOf).sort((a, b) => b - a);
  return vals[quorumSize(voters.length) - 1] as number;
}

export type VoteResult = 'won' | 'lost' | 'pending';

export function voteResult(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  if (voters.length === 0) return 'won';
  let granted = 0;
  let rejected = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === true) granted++;
    else if (v === false) rejected++;
  }
  const q = quorumSize(voters.length);
  if (granted >= q) return 'won';
  if (granted + (voters.length - granted - rejected) >= q) return 'pending';
  return 'lost';
}
