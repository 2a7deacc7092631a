// A certificate chain and its private key, checked the way an operator needs to hear about it:
// parse, key match, validity window, chain order and signatures, and the names it serves.
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import { TlsError } from './errors.js';
import type { CertificateInfo } from './types.js';

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The system roots, parsed once on first use (about 140 certificates). */
let roots: X509Certificate[] | undefined;
function systemRoots(): X509Certificate[] {
  roots ??= rootCertificates.map((pem) => new X509Certificate(pem));
  return roots;
}

function commonName(subject: string): string | undefined {
  for (const line of subject.split('\n')) if (line.startsWith('CN=')) return line.slice(3).trim();
  return undefined;
}

function describe(cert: X509Certificate): string {
  return commonName(cert.subject) ?? cert.subject.replace(/\n/g, ', ');
}

/** DNS names from subjectAltName ("DNS:a, DNS:*.b, IP Address:..."), else the CN; lowercased. */
export function certificateNames(cert: X509Certificate): string[] {
  const names: string[] = [];
  for (const entry of (cert.subjectAltName ?? '').split(',')) {
    const e = entry.trim();
    if (e.startsWith('DNS:')) names.push(e.slice(4).toLowerCase());
  }
  if (names.length > 0) return names;
  const cn = commonName(cert.subject);
  return cn === undefined ? [] : [cn.toLowerCase()];
}

/** Each PEM certificate block of a chain, leaf first as written. */
export function splitChain(pem: string): X509Certificate[] {
  const blocks = pem.match(PEM_CERT) ?? [];
  if (blocks.length === 0) throw new TlsError('TLS_ERR_PARSE', 'no PEM certificate ("-----BEGIN CERTIFICATE-----") found');
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (err) {
      throw new TlsError('TLS_ERR_PARSE', `certificate #${i + 1} of the chain does not parse: ${(err as Error).message}`, { cause: err });
    }
  });
}

export function parsePrivateKey(pem: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (err) {
    const hint = /ENCRYPTED/.test(pem) ? ' (passphrase-protected keys are not supported; decrypt it first)' : '';
    throw new TlsError('TLS_ERR_PARSE', `the private key does not parse${hint}: ${(err as Error).message}`, { cause: err });
  }
}

function when(ms: number): string {
  return new Date(ms).toISOString();
}

/** Every certificate of the chain must be inside its validity window at `now`. */
function checkValidity(chain: readonly X509Certificate[], now: number): void {
  chain.forEach((cert, i) => {
    const what = i === 0 ? `the certificate "${describe(cert)}"` : `intermediate #${i} "${describe(cert)}"`;
    const from = Date.parse(cert.validFrom);
    const to = Date.parse(cert.validTo);
    if (now < from) throw new TlsError('TLS_ERR_NOT_YET_VALID', `${what} is not valid before ${when(from)}`);
    if (now > to) throw new TlsError('TLS_ERR_EXPIRED', `${what} expired on ${when(to)}`);
  });
}

/**
 * Check a chain (PEM, leaf first, intermediates after) against its key, at `now`: throws
 * TlsError naming what is wrong; returns what the listener and the panel show of it.
 */
export function inspectCertificate(
  certPem: string,
  keyPem: string,
  now: number = Date.now(),
  opts: { checkValidity: boolean } = { checkValidity: true },
): CertificateInfo {
  const chain = splitChain(certPem);
  const leaf = chain[0] as X509Certificate;
  const key = parsePrivateKey(keyPem);
  if (!leaf.checkPrivateKey(key)) {
    throw new TlsError('TLS_ERR_KEY_MISMATCH', `the private key does not match the certificate "${describe(leaf)}"`);
  }
  if (opts.checkValidity) checkValidity(chain, now);
  for (let i = 0; i + 1 < chain.length; i++) {
    const cert = chain[i] as X509Certificate;
    const issuer = chain[i + 1] as X509Certificate;
    if (cert.checkIssued(issuer) === false || !cert.verify(issuer.publicKey)) {
      throw new TlsError(
        'TLS_ERR_CHAIN',
        `certificate #${i + 1} "${describe(cert)}" (issuer "${cert.issuer.replace(/\n/g, ', ')}") is not signed by the next certificate of the chain, "${describe(issuer)}"; put the leaf first, then each issuer in order`,
      );
    }
  }
  const top = chain[chain.length - 1] as X509Certificate;
  const selfSigned = top.checkIssued(top) && top.verify(top.publicKey);
  if (!selfSigned) {
    // Its issuer is not in the chain: when it is a known root, the signature must hold against it.
    const root = systemRoots().find((r) => top.checkIssued(r));
    if (root !== undefined && !top.verify(root.publicKey)) {
      throw new TlsError('TLS_ERR_CHAIN', `"${describe(top)}" does not verify against its issuer "${describe(root)}"`);
    }
  }
  return {
    subject: describe(leaf),
    issuer: leaf.issuer.replace(/\n/g, ', '),
    names: certificateNames(leaf),
    notBefore: Date.parse(leaf.validFrom),
    notAfter: Math.min(...chain.map((c) => Date.parse(c.validTo))),
    fingerprint256: leaf.fingerprint256,
    chainLength: chain.length,
    selfSigned: chain.length === 1 && selfSigned,
  };
}
