// One TLS listener's certificates: resolved (file, inline or cluster state), checked, turned into
// SecureContexts once per certificate, and served by SNI from an immutable table swapped whole on
// change, so handshakes in flight and established connections never see a half-built set.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContext, type SecureContextOptions, type TlsOptions } from 'node:tls';
import type { Logger } from 'pino';
import type { CertificateRef, ListenerTlsSpec } from '../types.js';
import { inspectCertificate } from './certificate.js';
import type { CertificateExpiry } from './certificate-expiry.js';
import { TlsError } from './errors.js';
import { HostTable } from './host-table.js';
import { isSealed } from './key-seal.js';
import type { TlsMaterial } from './tls-material.js';
import type { CertificateInfo, LoadedCertificate } from './types.js';

/**
 * TLS 1.3 suites (all AEAD) and, for TLS 1.2, ECDHE with AEAD only: Mozilla's "intermediate"
 * profile without the DHE suites (slow, and dropped by every current browser).
 */
export const MODERN_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');
const CURVES = 'X25519:prime256v1:secp384r1';
/** TLS 1.2 session cache/tickets lifetime, seconds (node's default as well). */
const SESSION_TIMEOUT_S = 300;

export interface ListenerCertificatesDeps {
  listener: string;
  material: TlsMaterial;
  expiry: CertificateExpiry;
  logger: Logger;
  now?: () => number;
}

interface Resolved {
  label: string;
  cert: string;
  key: string;
}

interface Built extends LoadedCertificate {
  cacheKey: string;
  options: SecureContextOptions;
}

function where(ref: CertificateRef, i: number): string {
  if ('name' in ref) return `tls.certificates[${i}] (certificate "${ref.name}")`;
  if ('certFile' in ref) return `tls.certificates[${i}] (${ref.certFile})`;
  return `tls.certificates[${i}] (inline)`;
}

function readPem(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new TlsError('TLS_ERR_READ', `cannot read the ${what} file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
}

/** Options shared by every context of a listener: versions, ciphers, curves. */
export function protocolOptions(spec: ListenerTlsSpec): SecureContextOptions {
  return {
    minVersion: spec.minVersion,
    maxVersion: 'TLSv1.3',
    ciphers: spec.ciphers ?? MODERN_CIPHERS,
    ecdhCurve: CURVES,
    honorCipherOrder: false,
    sessionTimeout: SESSION_TIMEOUT_S,
  };
}

export class ListenerCertificates {
  private spec: ListenerTlsSpec;
  private built: Built[] = [];
  private table = new HostTable<SecureContext>([], undefined, { wildcard: 'one-label' });
  private readonly unwatch: () => void;
  /** Called after a swap so the server can replace its default (no-SNI) context too. */
  onSwap: (() => void) | undefined;

  constructor(
    spec: ListenerTlsSpec,
    private readonly deps: ListenerCertificatesDeps,
  ) {
    this.spec = spec;
    this.unwatch = deps.material.watch((changed) => {
      if (!this.spec.certificates.some((r) => 'name' in r && changed.has(r.name))) return;
      try {
        this.load(this.spec);
        deps.logger.info({ listener: deps.listener }, 'certificates replaced; new handshakes use them');
      } catch (err) {
        deps.logger.error({ listener: deps.listener, err: (err as Error).message }, 'certificate update refused; still serving the previous ones');
      }
    });
  }

  /** node's SNICallback: the context for a name, the default for unknown names. */
  readonly sniCallback = (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void): void => {
    cb(null, this.table.lookup(servername));
  };

  /**
   * Resolve, check and build every certificate of `spec`, then swap them in. Throws TlsError
   * naming the certificate and the reason, leaving what was served before untouched.
   */
  load(spec: ListenerTlsSpec): void {
    const now = (this.deps.now ?? Date.now)();
    const protocol = protocolOptions(spec);
    const optionsKey = JSON.stringify(protocol);
    const reuse = new Map(this.built.map((b) => [b.cacheKey, b]));
    const next: Built[] = spec.certificates.map((ref, i) => {
      try {
        const { label, cert, key } = this.resolve(ref);
        const cacheKey = createHash('sha256').update(optionsKey).update('\0').update(cert).update('\0').update(key).digest('hex');
        const cached = reuse.get(cacheKey);
        if (cached !== undefined) return { ...cached, label };
        // Expired or not yet valid certificates are refused at upload and config time; one
        // that expires while configured keeps being served (with the metric negative and a warning)
        // rather than taking the listener down on the next restart.
        const info: CertificateInfo = inspectCertificate(cert, key, now, { checkValidity: false });
        const options: SecureContextOptions = { ...protocol, cert, key };
        return { label, info, cacheKey, options, context: createSecureContext(options) };
      } catch (err) {
        if (err instanceof TlsError) throw new TlsError(err.code, `${where(ref, i)}: ${err.message}`, { cause: err });
        throw new TlsError('TLS_ERR_PARSE', `${where(ref, i)}: ${(err as Error).message}`, { cause: err });
      }
    });
    const entries: [string, SecureContext][] = [];
    for (const b of next) for (const name of b.info.names) entries.push([name, b.context]);
    this.table = new HostTable(entries, next[0]?.context, { wildcard: 'one-label' });
    this.built = next;
    this.spec = spec;
    this.deps.expiry.track(this, new Map(next.map((b) => [b.label, b.info.notAfter])));
    this.onSwap?.();
  }

  /** What the server's default context is built from: the first certificate. */
  defaultContextOptions(): SecureContextOptions {
    return this.built[0]?.options ?? protocolOptions(this.spec);
  }

  /** Server-level TLS options (the default context comes from defaultContextOptions()). */
  serverOptions(alpn: string[], handshakeTimeoutMs: number): TlsOptions {
    return { ...protocolOptions(this.spec), SNICallback: this.sniCallback, ALPNProtocols: alpn, handshakeTimeout: handshakeTimeoutMs };
  }

  loaded(): readonly LoadedCertificate[] {
    return this.built;
  }

  close(): void {
    this.unwatch();
    this.deps.expiry.release(this);
  }

  private resolve(ref: CertificateRef): Resolved {
    if ('name' in ref) {
      const spec = this.deps.material.certificate(ref.name);
      if (spec === undefined) throw new TlsError('TLS_ERR_UNKNOWN_CERTIFICATE', 'no certificate of that name in the cluster state');
      if (isSealed(spec.key)) throw new TlsError('TLS_ERR_SEALED', 'its private key is still sealed: this node could not unseal it (another cluster secret?)');
      return { label: ref.name, cert: spec.cert, key: spec.key };
    }
    if ('certFile' in ref) {
      return { label: ref.certFile, cert: readPem(ref.certFile, 'certificate'), key: readPem(ref.keyFile, 'key') };
    }
    if (isSealed(ref.key)) throw new TlsError('TLS_ERR_SEALED', 'its inline private key is still sealed: this node could not unseal it (another cluster secret?)');
    return { label: 'inline', cert: ref.cert, key: ref.key };
  }
}
