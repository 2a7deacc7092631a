// Schema-valid API bodies into data-plane specs, through the config normalizers (the same
// defaults and cross-field checks as the config file), with fields named relative to the body.
import { ConfigError } from '../config/errors.js';
import { normalizeBackend, normalizeListener, normalizePool } from '../config/normalize.js';
import type { BackendInput, ListenerInput, PoolInput } from '../config/schema.js';
import type { BackendSpec, ListenerSpec, PoolSpec } from '../lb/types.js';

/** Path of the first string in `value` equal to `needle`, e.g. "backends[2].address". */
function pathOf(value: unknown, needle: string, at = ''): string | null {
  if (value === needle) return at;
  if (value === null || typeof value !== 'object') return null;
  for (const [k, v] of Object.entries(value)) {
    const found = pathOf(v, needle, Array.isArray(value) ? `${at}[${k}]` : at ? `${at}.${k}` : k);
    if (found !== null) return found;
  }
  return null;
}

function normalized<I, O>(input: I, run: (input: I, field: string) => O): O {
  try {
    return run(input, '');
  } catch (err) {
    if (err instanceof ConfigError) {
      const field = err.field.replace(/^\./, '');
      const reason = err.field ? err.message.slice(err.field.length + 2) : err.message;
      throw new ConfigError(err.code, field, reason);
    }
    // parseAddress throws RangeError('"<text>" is not host:port ...') for ports the pattern lets by.
    const quoted = err instanceof RangeError ? /^"([^"]*)"/.exec(err.message) : null;
    if (err instanceof RangeError && quoted) throw new ConfigError('CONFIG_ERR_INVALID', pathOf(input, quoted[1]!) ?? '', err.message);
    throw err;
  }
}

export const poolSpec = (input: PoolInput): PoolSpec => normalized(input, normalizePool);
export const backendSpec = (input: BackendInput): BackendSpec => normalized(input, normalizeBackend);
export const listenerSpec = (input: ListenerInput): ListenerSpec => normalized(input, normalizeListener);
