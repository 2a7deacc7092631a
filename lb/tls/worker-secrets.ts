// What a node adds to the replicated state before its workers see it: certificate keys unsealed
// with the cluster secret, and the seed their session-ticket keys derive from (one per node start).
import type { DataPlaneState } from '../types.js';
import { unsealInlineKeys } from './inline-keys.js';
import { isSealed, unsealPrivateKey, type SealKey } from './key-seal.js';

export interface UnsealReport {
  state: DataPlaneState;
  /** certificate name (or "listener:<name>#<i>" for inline keys) -> why its key stayed sealed; listeners using it report the same. */
  errors: Record<string, string>;
}

/**
 * The state for this node's workers. A key that does not open stays sealed: the worker then
 * refuses that certificate with the reason, and every other certificate keeps working.
 */
export function workerState(state: DataPlaneState, seal: SealKey | null, ticketSeed: Buffer): UnsealReport {
  const errors: Record<string, string> = {};
  const certificates = (state.certificates ?? []).map((c) => {
    if (!isSealed(c.key)) return c;
    if (seal === null) {
      errors[c.name] = 'this node has no cluster secret to unseal certificate keys with';
      return c;
    }
    try {
      return { ...c, key: unsealPrivateKey(c.key, c.name, seal) };
    } catch (err) {
      errors[c.name] = (err as Error).message;
      return c;
    }
  });
  const listeners = state.listeners.map((l) => unsealInlineKeys(l, seal, errors));
  return { state: { ...state, listeners, certificates, ticketSeed: ticketSeed.toString('base64') }, errors };
}
