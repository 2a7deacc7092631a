// Schema-valid edge settings (TLS, compression, header policy, backend TLS, SNI routes) into the
// listener spec, with the checks a schema cannot express: certificate refs, mode-specific fields,
// and certificates that parse, match their key and chain (named by field, with the reason).
import { readFileSync } from 'node:fs';
import { DEFAULT_COMPRESSIBLE_TYPES } from '../lb/http/compression.js';
import { inspectCertificate } from '../lb/tls/certificate.js';
import { TlsError } from '../lb/tls/errors.js';
import type { BackendTlsSpec, CertificateRef, ListenerSpec, ListenerTlsSpec } from '../lb/types.js';
import { parseAddress } from './address.js';
import { ConfigError } from './errors.js';
import type { CertificateRefInput, TlsInput } from './edge-schema.js';
import type { ListenerInput } from './schema.js';

export const COMPRESSION_DEFAULTS = { minBytes: 1024, level: 5 } as const;

function invalid(field: string, reason: string): ConfigError {
  return new ConfigError('CONFIG_ERR_INVALID', field, reason);
}

function readPem(path: string, field: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError('CONFIG_ERR_READ', field, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/**
 * Exactly one form per entry. File and inline certificates are checked now (parse, key match,
 * chain signatures) so a bad one is refused with its field; expiry is not: an expired file on a
 * restarting node is served (metric negative, warned) rather than failing the whole node.
 */
function certificateRef(input: CertificateRefInput, field: string): CertificateRef {
  const has = (k: keyof CertificateRefInput) => input[k] !== undefined;
  const forms = [has('certFile') || has('keyFile'), has('cert') || has('key'), has('name')].filter(Boolean).length;
  if (forms !== 1) throw invalid(field, 'give one of: certFile + keyFile, cert + key (inline PEM), or name (a certificate of the cluster)');
  if (input.name !== undefined) return { name: input.name };
  let ref: CertificateRef;
  let cert: string;
  let key: string;
  if (has('certFile') || has('keyFile')) {
    if (input.certFile === undefined) throw invalid(`${field}.certFile`, 'is required with keyFile');
    if (input.keyFile === undefined) throw invalid(`${field}.keyFile`, 'is required with certFile');
    cert = readPem(input.certFile, `${field}.certFile`);
    key = readPem(input.keyFile, `${field}.keyFile`);
    ref = { certFile: input.certFile, keyFile: input.keyFile };
  } else {
    if (input.cert === undefined) throw invalid(`${field}.cert`, 'is required with key');
    if (input.key === undefined) throw invalid(`${field}.key`, 'is required with cert');
    cert = input.cert;
    key = input.key;
    ref = { cert, key };
  }
  try {
    inspectCertificate(cert, key, Date.now(), { checkValidity: false });
  } catch (err) {
    if (err instanceof TlsError) throw invalid(field, err.message);
    throw err;
  }
  return ref;
}

function tlsSpec(input: TlsInput, field: string): ListenerTlsSpec {
  const spec: ListenerTlsSpec = {
    certificates: input.certificates.map((c, i) => certificateRef(c, `${field}.certificates[${i}]`)),
    minVersion: input.minVersion ?? 'TLSv1.2',
    http2: input.http2 ?? true,
  };
  if (input.ciphers !== undefined) spec.ciphers = input.ciphers;
  if (input.redirectHttp !== undefined) spec.redirectHttp = parseAddress(input.redirectHttp);
  if (input.hsts !== undefined) {
    spec.hsts = { maxAgeSeconds: input.hsts.maxAge, includeSubDomains: input.hsts.includeSubDomains ?? false, preload: input.hsts.preload ?? false };
  }
  return spec;
}

function backendTlsSpec(input: NonNullable<ListenerInput['backendTls']>, field: string): BackendTlsSpec | undefined {
  if (input === false) return undefined;
  if (input === true) return { enabled: true, verify: true };
  if (input.ca !== undefined && input.caFile !== undefined) throw invalid(`${field}.caFile`, 'give either ca or caFile, not both');
  const spec: BackendTlsSpec = { enabled: input.enabled ?? true, verify: input.verify ?? true };
  if (input.ca !== undefined) spec.ca = input.ca;
  if (input.caFile !== undefined) spec.caFile = input.caFile;
  if (input.servername !== undefined) spec.servername = input.servername;
  if (input.http2 === true) spec.http2 = true;
  return spec.enabled ? spec : undefined;
}

/** Adds the edge fields of `input` to `spec` (already normalized for the rest). */
export function normalizeEdge(input: ListenerInput, field: string, spec: ListenerSpec): void {
  const httpOnly = ['tls', 'compression', 'headers', 'backendTls'] as const;
  if (input.mode === 'tcp') {
    for (const k of httpOnly) if (input[k] !== undefined) throw invalid(`${field}.${k}`, 'only http listeners have it (tcp listeners pass TLS through; see sniRoutes)');
    if (input.sniRoutes !== undefined && input.sniRoutes.length > 0) spec.sniRoutes = input.sniRoutes.map((r) => ({ host: r.host.toLowerCase(), pool: r.pool }));
    return;
  }
  if (input.sniRoutes !== undefined) throw invalid(`${field}.sniRoutes`, 'only tcp listeners route by SNI; http listeners route by routes[].host');
  if (input.tls !== undefined) spec.tls = tlsSpec(input.tls, `${field}.tls`);
  if (input.compression !== undefined) {
    const c = input.compression;
    spec.compression = {
      enabled: c.enabled ?? true,
      minBytes: c.minBytes ?? COMPRESSION_DEFAULTS.minBytes,
      types: c.types ?? [...DEFAULT_COMPRESSIBLE_TYPES],
      level: c.level ?? COMPRESSION_DEFAULTS.level,
    };
  }
  if (input.headers !== undefined) {
    const h = input.headers;
    const policy: NonNullable<ListenerSpec['headers']> = { removeResponse: h.removeResponse ?? [], addResponse: {} };
    for (const [name, value] of Object.entries(h.addResponse ?? {})) {
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw invalid(`${field}.headers.addResponse.${name}`, 'is not an HTTP header name');
      policy.addResponse[name] = value;
    }
    if (h.hideServer === true || typeof h.hideServer === 'string') policy.hideServer = h.hideServer;
    spec.headers = policy;
  }
  if (input.backendTls !== undefined) {
    const b = backendTlsSpec(input.backendTls, `${field}.backendTls`);
    if (b !== undefined) spec.backendTls = b;
  }
}
