// Typed consensus errors with stable codes (RAFT_ERR_*); callers branch on `code`, never on message text.

export type RaftErrorCode =
  | 'RAFT_ERR_NOT_LEADER'
  | 'RAFT_ERR_PROPOSAL_DROPPED'
  | 'RAFT_ERR_TRANSFER_IN_PROGRESS'
  | 'RAFT_ERR_CONF_CHANGE_PENDING'
  | 'RAFT_ERR_INVALID_CONF_CHANGE'
  | 'RAFT_ERR_INVALID_TRANSFER'
  | 'RAFT_ERR_INVALID_CONFIG'
  | 'RAFT_ERR_COMPACTED'
  | 'RAFT_ERR_UNAVAILABLE'
  | 'RAFT_ERR_SNAPSHOT_OUT_OF_DATE'
  | 'RAFT_ERR_READY_PENDING'
  | 'RAFT_ERR_NO_READY'
  | 'RAFT_ERR_STEP_LOCAL';

export class RaftError extends Error {
  readonly code: RaftErrorCode;
  /** For RAFT_ERR_NOT_LEADER: the leader this node knows of, if any (to redirect the caller). */
  readonly leader: string | null;
  constructor(code: RaftErrorCode, message: string, leader: string | null = null) {
    super(message);
    this.name = 'RaftError';
    this.code = code;
    this.leader = leader;
  }
}
