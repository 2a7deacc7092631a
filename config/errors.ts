// Typed input errors (CONFIG_ERR_*): every one names the field at fault and what to do about it.

export type ConfigErrorCode = 'CONFIG_ERR_INVALID' | 'CONFIG_ERR_READ' | 'CONFIG_ERR_PARSE';

export class ConfigError extends Error {
  readonly code: ConfigErrorCode;
  /** Dotted path of the bad field, e.g. bootstrap.pools[0].backends[1].weight; '' for the whole input. */
  readonly field: string;
  constructor(code: ConfigErrorCode, field: string, reason: string) {
    super(field ? `${field}: ${reason}` : reason);
    this.name = 'ConfigError';
    this.code = code;
    this.field = field;
  }
}
