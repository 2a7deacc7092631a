// Typed transport errors with stable codes (TRANSPORT_ERR_*).

export type TransportErrorCode =
  /** A message held a value that cannot cross the wire (function, bigint, Map, NaN...). */
  | 'TRANSPORT_ERR_ENCODE'
  /** An incoming message was not in the wire format. */
  | 'TRANSPORT_ERR_DECODE'
  | 'TRANSPORT_ERR_LISTEN'
  | 'TRANSPORT_ERR_STOPPED';

export class TransportError extends Error {
  readonly code: TransportErrorCode;
  constructor(code: TransportErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransportError';
    this.code = code;
  }
}
