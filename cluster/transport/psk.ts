// TLS-PSK keys and settings for peer links. The cluster secret is an operator-chosen passphrase, so it
// is stretched once with scrypt (an eavesdropper holding a handshake transcript could otherwise test
// guesses offline at hash speed), then HKDF binds a distinct key to each node identity.
import { hkdfSync, scrypt } from 'node:crypto';
import type { ConnectionOptions, TlsOptions } from 'node:tls';

// TLS 1.2 pinned with an ECDHE-PSK AEAD suite: forward secrecy, and the path Node documents for
// pskCallback. TLS 1.3 PSK also completes with Node 20 / OpenSSL 3.0 (via OpenSSL's compatibility
// path for these callbacks: SHA-256 suites only, no identity hint), but pinning keeps one known suite.
export const PSK_TLS_SETTINGS = {
  ciphers: 'ECDHE-PSK-CHACHA20-POLY1305',
  minVersion: 'TLSv1.2',
  maxVersion: 'TLSv1.2',
} as const satisfies Pick<TlsOptions & ConnectionOptions, 'ciphers' | 'minVersion' | 'maxVersion'>;

const SALT = 'ballast/cluster-psk/v1';
const SCRYPT = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

/** Stretches the secret once; the result is the root every per-node key is derived from. */
export function derivePskRoot(secret: string | Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, SALT, 32, SCRYPT, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** The pre-shared key for connections that identify as `identity`. */
export function pskFor(root: Buffer, identity: string): Buffer {
  return Buffer.from(hkdfSync('sha256', root, SALT, `psk:${identity}`, 32));
}
