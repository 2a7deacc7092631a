// Typed errors of the Host seam (HOST_ERR_*): what failed, on which host, with the command's output.

export type HostErrorCode =
  | 'HOST_ERR_CONNECT'
  | 'HOST_ERR_COMMAND_FAILED'
  | 'HOST_ERR_TIMEOUT'
  | 'HOST_ERR_COPY'
  | 'HOST_ERR_CLOSED';

export interface HostErrorDetails {
  cause?: unknown;
  stdout?: string;
  stderr?: string;
  code?: number | null;
}

export class HostError extends Error {
  readonly code: HostErrorCode;
  readonly host: string;
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number | null;
  constructor(code: HostErrorCode, host: string, message: string, details: HostErrorDetails = {}) {
    super(`${code}: ${host}: ${message}`, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'HostError';
    this.code = code;
    this.host = host;
    this.stdout = details.stdout ?? '';
    this.stderr = details.stderr ?? '';
    this.exitCode = details.code ?? null;
  }
}

export function isHostError(err: unknown, code?: HostErrorCode): err is HostError {
  return err instanceof HostError && (code === undefined || err.code === code);
}
