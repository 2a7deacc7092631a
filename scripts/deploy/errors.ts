// Typed errors of the rolling deploy (DEPLOY_ERR_*).

export type DeployErrorCode =
  | 'DEPLOY_ERR_UNHEALTHY'
  | 'DEPLOY_ERR_CONFIG'
  | 'DEPLOY_ERR_STAGE'
  | 'DEPLOY_ERR_TRANSFER'
  | 'DEPLOY_ERR_NODE_NOT_BACK';

export class DeployError extends Error {
  constructor(
    readonly code: DeployErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${message}`, options);
    this.name = 'DeployError';
  }
}

export function isDeployError(err: unknown, code?: DeployErrorCode): err is DeployError {
  return err instanceof DeployError && (code === undefined || err.code === code);
}
