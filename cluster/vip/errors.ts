// Typed VIP-layer errors with stable codes (VIP_ERR_*).

export type VipErrorCode =
  | 'VIP_ERR_NO_INTERFACE'
  | 'VIP_ERR_BAD_ADDRESS'
  | 'VIP_ERR_COMMAND_MISSING'
  | 'VIP_ERR_COMMAND_FAILED'
  | 'VIP_ERR_COMMAND_TIMEOUT'
  | 'VIP_ERR_CANCELLED';

export interface VipErrorDetails {
  cause?: unknown;
  /** What the failed command wrote to stderr, trimmed. */
  stderr?: string;
  exitCode?: number;
}

export class VipError extends Error {
  readonly code: VipErrorCode;
  readonly stderr: string;
  readonly exitCode: number | null;
  constructor(code: VipErrorCode, message: string, details: VipErrorDetails = {}) {
    // The code leads the message so a log line or a CLI error alone says which failure it was.
    super(`${code}: ${message}`, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'VipError';
    this.code = code;
    this.stderr = details.stderr ?? '';
    this.exitCode = details.exitCode ?? null;
  }
}

export function isVipError(err: unknown, code?: VipErrorCode): err is VipError {
  return err instanceof VipError && (code === undefined || err.code === code);
}
