// Inline listener keys (tls.certificates[i] = { cert, key }) at rest: sealed like cluster
// certificates before a listener enters the replicated state, opened by the node for its workers.
// The sealed form is bound to the listener and the entry's position, so it cannot be moved.
import type { ListenerSpec } from '../types.js';
import { isSealed, sealPrivateKey, unsealPrivateKey, type SealKey } from './key-seal.js';

function binding(listener: string, index: number): string {
  return `listener:${listener}#${index}`;
}

/** The spec with every inline plaintext key sealed; other refs and sealed keys as they are. */
export function sealInlineKeys(spec: ListenerSpec, seal: SealKey): ListenerSpec {
  const tls = spec.tls;
  if (tls === undefined || !tls.certificates.some((r) => 'key' in r && !isSealed(r.key))) return spec;
  const certificates = tls.certificates.map((r, i) => ('key' in r && !isSealed(r.key) ? { cert: r.cert, key: sealPrivateKey(r.key, binding(spec.name, i), seal) } : r));
  return { ...spec, tls: { ...tls, certificates } };
}

/**
 * The spec with inline keys opened. A key that does not open stays sealed (the listener then
 * refuses that certificate with the reason); `errors` gets "listener#index" -> why.
 */
export function unsealInlineKeys(spec: ListenerSpec, seal: SealKey | null, errors: Record<string, string>): ListenerSpec {
  const tls = spec.tls;
  if (tls === undefined || !tls.certificates.some((r) => 'key' in r && isSealed(r.key))) return spec;
  const certificates = tls.certificates.map((r, i) => {
    if (!('key' in r) || !isSealed(r.key)) return r;
    const where = binding(spec.name, i);
    if (seal === null) {
      errors[where] = 'this node has no cluster secret to unseal listener keys with';
      return r;
    }
    try {
      return { cert: r.cert, key: unsealPrivateKey(r.key, where, seal) };
    } catch (err) {
      errors[where] = (err as Error).message;
      return r;
    }
  });
  return { ...spec, tls: { ...tls, certificates } };
}
