// The benchmark's TLS certificate: one self-signed RSA-2048 pair made with the openssl CLI, served by
// Ballast (cert + key files) and HAProxy (the same two in one PEM), so both do the same crypto.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface BenchCert {
  certFile: string;
  keyFile: string;
  /** Certificate then key in one file: what HAProxy's `crt` takes. */
  combinedFile: string;
}

export function makeBenchCert(dir: string): BenchCert {
  const certFile = join(dir, 'bench-cert.pem');
  const keyFile = join(dir, 'bench-key.pem');
  const combinedFile = join(dir, 'bench-combined.pem');
  // RSA 2048: the most common server key, and the costlier handshake of the usual choices.
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  writeFileSync(combinedFile, readFileSync(certFile, 'utf8') + readFileSync(keyFile, 'utf8'));
  return { certFile, keyFile, combinedFile };
}
