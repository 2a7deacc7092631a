// Typed TLS errors with stable codes (TLS_ERR_*): why a certificate or key is refused, in words.

export type TlsErrorCode =
  /** Not PEM, or PEM that does not parse as a certificate or a private key. */
  | 'TLS_ERR_PARSE'
  | 'TLS_ERR_EXPIRED'
  | 'TLS_ERR_NOT_YET_VALID'
  /** The private key is not the certificate's. */
  | 'TLS_ERR_KEY_MISMATCH'
  /** A certificate of the chain is not signed by the next one. */
  | 'TLS_ERR_CHAIN'
  /** A sealed private key cannot be opened (another cluster secret, or damaged). */
  | 'TLS_ERR_SEALED'
  /** A listener names a certificate the cluster state does not hold. */
  | 'TLS_ERR_UNKNOWN_CERTIFICATE'
  /** A certificate or key file cannot be read. */
  | 'TLS_ERR_READ';

export class TlsError extends Error {
  readonly code: TlsErrorCode;
  constructor(code: TlsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TlsError';
    this.code = code;
  }
}
