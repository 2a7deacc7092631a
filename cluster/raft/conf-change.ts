// Membership changes one server at a time: their encoding in a conf-change entry and their effect on a ConfState.
import { RaftError } from './errors.js';
import type { ConfChange, ConfState } from './types.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeConfChange(cc: ConfChange): Uint8Array {
  return encoder.encode(JSON.stringify({ type: cc.type, node: cc.node }));
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  const v: unknown = JSON.parse(decoder.decode(data));
  if (typeof v === 'object' && v !== null && 'type' in v && 'node' in v) {
    const { type, node } = v;
    if ((type === 'add-voter' || type === 'add-learner' || type === 'remove') && typeof node === 'string') {
      return { type, node };
    }
  }
  throw new RaftError('RAFT_ERR_INVALID_CONF_CHANGE', 'malformed conf-change entry');
}

/** Why `cc` cannot be applied to `conf`, or null if it can. */
export function confChangeProblem(conf: ConfState, cc: ConfChange): string | null {
  const isVoter = conf.voters.includes(cc.node);
  const isLearner = conf.learners.includes(cc.node);
  switch (cc.type) {
    case 'add-voter':
      return isVoter ? `${cc.node} is already a voter` : null;
    case 'add-learner':
      if (isVoter) return `${cc.node} is a voter; remove it first`;
      return isLearner ? `${cc.node} is already a learner` : null;
    case 'remove':
      if (!isVoter && !isLearner) return `${cc.node} is not a member`;
      return isVoter && conf.voters.length === 1 ? 'cannot remove the last voter' : null;
    default: {
      const never: never = cc.type;
      return never;
    }
  }
}

/** The membership after `cc`; an inapplicable change leaves it as it was. */
export function applyConfChange(conf: ConfState, cc: ConfChange): ConfState {
  if (confChangeProblem(conf, cc) !== null) return { voters: [...conf.voters], learners: [...conf.learners] };
  const voters = conf.voters.filter((id) => id !== cc.node);
  const learners = conf.learners.filter((id) => id !== cc.node);
  if (cc.type === 'add-voter') voters.push(cc.node);
  if (cc.type === 'add-learner') learners.push(cc.node);
  return { voters: voters.sort(), learners: learners.sort() };
}
