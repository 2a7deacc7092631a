// Schema validation with Ajv that reports the first problem as "field.path[1].name: what is wrong".
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { Static, TSchema } from '@sinclair/typebox';
import { ConfigError } from './errors.js';

const ajv = new Ajv({ allErrors: false, verbose: true, strict: true, coerceTypes: false });
ajv.addKeyword({ keyword: 'errorMessage', schemaType: 'string' });

/** "/bootstrap/pools/0/weight" -> "bootstrap.pools[0].weight", under an optional prefix. */
export function fieldPath(prefix: string, instancePath: string): string {
  let out = prefix;
  for (const raw of instancePath.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^[0-9]+$/.test(part) ? `[${part}]` : out ? `.${part}` : part;
  }
  return out;
}

function join(base: string, key: string): string {
  return base ? `${base}.${key}` : key;
}

function describe(err: ErrorObject, prefix: string): ConfigError {
  const field = fieldPath(prefix, err.instancePath);
  const schema = (err.parentSchema ?? {}) as Record<string, unknown>;
  const custom = typeof schema['errorMessage'] === 'string' ? schema['errorMessage'] : undefined;
  const params = err.params as Record<string, unknown>;
  switch (err.keyword) {
    case 'required':
      return new ConfigError('CONFIG_ERR_INVALID', join(field, String(params['missingProperty'])), 'is required');
    case 'additionalProperties': {
      const allowed = Object.keys((schema['properties'] as Record<string, unknown> | undefined) ?? {});
      return new ConfigError(
        'CONFIG_ERR_INVALID',
        join(field, String(params['additionalProperty'])),
        `unknown field; allowed here: ${allowed.join(', ')}`,
      );
    }
    case 'enum':
      return new ConfigError(
        'CONFIG_ERR_INVALID',
        field,
        `must be one of: ${(schema['enum'] as unknown[]).map(String).join(', ')}`,
      );
    case 'type':
    case 'minimum':
    case 'maximum':
      if (schema['type'] === 'integer' && typeof schema['minimum'] === 'number' && typeof schema['maximum'] === 'number') {
        return new ConfigError('CONFIG_ERR_INVALID', field, `must be an integer ${schema['minimum']}..${schema['maximum']}`);
      }
      return new ConfigError('CONFIG_ERR_INVALID', field, custom ?? (typeof params['type'] === 'string' ? `must be ${params['type']}` : (err.message ?? 'is invalid')));
    default:
      return new ConfigError('CONFIG_ERR_INVALID', field, custom ?? err.message ?? 'is invalid');
  }
}

export interface Validator<S extends TSchema> {
  /** Returns the value typed by the schema, or throws ConfigError naming the first bad field. */
  (value: unknown, fieldPrefix?: string): Static<S>;
}

export function compileValidator<S extends TSchema>(schema: S): Validator<S> {
  const check: ValidateFunction = ajv.compile(schema);
  return (value: unknown, fieldPrefix = '') => {
    if (check(value)) return value;
    const first = check.errors?.[0];
    if (!first) throw new ConfigError('CONFIG_ERR_INVALID', fieldPrefix, 'is invalid');
    throw describe(first, fieldPrefix);
  };
}
