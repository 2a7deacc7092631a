// Private keys at rest in the replicated state: AES-256-GCM under a key derived (HKDF-SHA256) from
// the cluster secret, bound to the certificate's name. The state machine only ever sees the sealed form.
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { TlsError } from './errors.js';

export const SEALED_PREFIX = 'sealed:v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Distinct from the TLS-PSK use of the same secret: one secret, independent keys per purpose. */
const SALT = 'ballast';
const INFO = 'ballast certificate private keys v1';

export interface SealKey {
  /** Short public id of the derived key: tells "sealed under another secret" from "damaged". */
  id: string;
  key: Buffer;
}

export function deriveSealKey(clusterSecret: string): SealKey {
  const key = Buffer.from(hkdfSync('sha256', clusterSecret, SALT, INFO, 32));
  return { id: createHash('sha256').update(key).digest('hex').slice(0, 8), key };
}

export function isSealed(value: string): boolean {
  return value.startsWith(SEALED_PREFIX);
}

/** "sealed:v1:<key id>:<iv>:<tag>:<ciphertext>", base64url parts; `name` is authenticated, not stored. */
export function sealPrivateKey(pem: string, name: string, seal: SealKey): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', seal.key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(name));
  const data = Buffer.concat([cipher.update(pem, 'utf8'), cipher.final()]);
  const parts = [iv, cipher.getAuthTag(), data].map((b) => b.toString('base64url'));
  return `${SEALED_PREFIX}${seal.id}:${parts.join(':')}`;
}

export function unsealPrivateKey(sealed: string, name: string, seal: SealKey): string {
  if (!isSealed(sealed)) throw new TlsError('TLS_ERR_SEALED', `the key of certificate "${name}" is not in the sealed form`);
  const [id, iv, tag, data] = sealed.slice(SEALED_PREFIX.length).split(':');
  if (id === undefined || iv === undefined || tag === undefined || data === undefined) {
    throw new TlsError('TLS_ERR_SEALED', `the sealed key of certificate "${name}" is malformed`);
  }
  if (id !== seal.id) {
    throw new TlsError('TLS_ERR_SEALED', `the key of certificate "${name}" was sealed under another cluster secret (key id ${id}, this node has ${seal.id})`);
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', seal.key, Buffer.from(iv, 'base64url'), { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(name));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
  } catch (err) {
    throw new TlsError('TLS_ERR_SEALED', `the sealed key of certificate "${name}" does not open (damaged, or moved from another name)`, { cause: err });
  }
}
