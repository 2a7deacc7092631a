// Typed cluster errors (CLUSTER_ERR_*) that the web edge turns into HTTP statuses.

export type ClusterErrorCode =
  /** No leader is known (no quorum, or an election is under way): writes cannot commit now. */
  | 'CLUSTER_ERR_NO_LEADER'
  /** The write was not confirmed committed within the bound; it may or may not apply later. */
  | 'CLUSTER_ERR_TIMEOUT'
  /** This node is stopping. */
  | 'CLUSTER_ERR_STOPPING';

export class ClusterError extends Error {
  readonly code: ClusterErrorCode;
  constructor(code: ClusterErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ClusterError';
    this.code = code;
  }
}
