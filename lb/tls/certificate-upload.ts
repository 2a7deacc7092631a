// The edge's half of a certificate upload (API, ctl): check the chain and key with reasons, then
// seal the key, giving the record a cert.put command carries. The state machine sees no plaintext key.
import type { CertificateSpec } from '../types.js';
import { inspectCertificate } from './certificate.js';
import { sealPrivateKey, type SealKey } from './key-seal.js';
import type { CertificateInfo } from './types.js';

export interface PreparedCertificate {
  /** For the cert.put command: chain as given (trimmed), key sealed. */
  spec: CertificateSpec;
  info: CertificateInfo;
}

/**
 * Refuses (TlsError, with the reason) an expired or not yet valid certificate, a key that does
 * not match, or a chain whose certificates are not each signed by the next.
 */
export function prepareCertificate(name: string, certPem: string, keyPem: string, seal: SealKey, now: number = Date.now()): PreparedCertificate {
  const cert = `${certPem.trim()}\n`;
  const info = inspectCertificate(cert, keyPem, now);
  return { spec: { name, cert, key: sealPrivateKey(keyPem, name, seal) }, info };
}
