// A listener's edge settings (TLS, compression, header policy, backend TLS, SNI routes) read back in
// the config's input form, so a GET body can be PUT back; inline private keys are never read back.
import { formatAddress } from '../config/address.js';
import type { CertificateRefInput, CompressionInput, HeadersInput, TlsInput } from '../config/edge-schema.js';
import { ListenerEdgeFields } from '../config/edge-schema.js';
import type { ListenerSpec } from '../lb/types.js';

/** The edge properties of ListenerView: the input schemas themselves. */
export const ListenerEdgeView = ListenerEdgeFields;

export interface ListenerEdgeViewT {
  tls?: TlsInput;
  compression?: CompressionInput;
  headers?: HeadersInput;
  backendTls?: { enabled?: boolean; ca?: string; caFile?: string; servername?: string; verify?: boolean; http2?: boolean };
  sniRoutes?: { host: string; pool: string }[];
}

export function listenerEdgeView(spec: ListenerSpec): ListenerEdgeViewT {
  const out: ListenerEdgeViewT = {};
  if (spec.tls !== undefined) {
    const t = spec.tls;
    const tlsOut: TlsInput = {
      // An inline key is a secret: the certificate reads back, its key does not (PUT it again to change it).
      certificates: t.certificates.map((r): CertificateRefInput => ('name' in r ? { name: r.name } : 'certFile' in r ? { certFile: r.certFile, keyFile: r.keyFile } : { cert: r.cert })),
      minVersion: t.minVersion,
      http2: t.http2,
    };
    if (t.ciphers !== undefined) tlsOut.ciphers = t.ciphers;
    if (t.redirectHttp !== undefined) tlsOut.redirectHttp = formatAddress(t.redirectHttp);
    if (t.hsts !== undefined) tlsOut.hsts = { maxAge: t.hsts.maxAgeSeconds, includeSubDomains: t.hsts.includeSubDomains, preload: t.hsts.preload };
    out.tls = tlsOut;
  }
  if (spec.compression !== undefined) out.compression = { ...spec.compression, types: [...spec.compression.types] };
  if (spec.headers !== undefined) {
    const h: HeadersInput = { removeResponse: [...spec.headers.removeResponse], addResponse: { ...spec.headers.addResponse } };
    if (spec.headers.hideServer !== undefined) h.hideServer = spec.headers.hideServer;
    out.headers = h;
  }
  if (spec.backendTls !== undefined) out.backendTls = { ...spec.backendTls };
  if (spec.sniRoutes !== undefined) out.sniRoutes = spec.sniRoutes.map((r) => ({ ...r }));
  return out;
}
