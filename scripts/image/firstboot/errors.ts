// Typed errors of the appliance's first boot (IMAGE_ERR_*).
import type { FirstBootErrorCode } from './types.js';

export class FirstBootError extends Error {
  readonly code: FirstBootErrorCode;
  constructor(code: FirstBootErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'FirstBootError';
    this.code = code;
  }
}
