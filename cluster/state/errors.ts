// StateError: a command the state machine refuses, with a stable code and the field at fault.
import type { StateErrorCode } from './types.js';

export class StateError extends Error {
  readonly code: StateErrorCode;
  readonly field: string;
  constructor(code: StateErrorCode, field: string, message: string) {
    super(message);
    this.name = 'StateError';
    this.code = code;
    this.field = field;
  }
}
