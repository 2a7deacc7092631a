// JSON Schemas (TypeBox) of a listener's edge settings: TLS termination, compression, response
// header policy, TLS to backends and SNI routes for TCP passthrough (issue 6).
import { Type, type SchemaOptions, type Static } from '@sinclair/typebox';
import { ADDRESS_PATTERN } from './address.js';

function StringEnum<T extends readonly string[]>(values: T, options: SchemaOptions = {}) {
  return Type.Unsafe<T[number]>({ ...options, type: 'string', enum: [...values] });
}

const HOST_PATTERN = '^(\\*\\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$';
const Host = Type.String({ pattern: HOST_PATTERN, errorMessage: 'must be a host name like example.com or *.example.com' });
const PoolName = Type.String({
  pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$',
  errorMessage: 'must be 1-63 letters, digits, "_", "." or "-", starting with a letter or digit',
});
const Pem = Type.String({ minLength: 1, maxLength: 256 * 1024 });
const HeaderName = Type.String({ pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", errorMessage: 'must be an HTTP header name' });

/**
 * One certificate of a TLS listener: files on the node (certFile + keyFile), inline PEM
 * (cert + key), or a certificate of the cluster state (name). One flat object rather than a
 * union so a mistake gets one clear message (normalize-edge.ts checks the combination).
 */
export const CertificateRefInput = Type.Object(
  {
    certFile: Type.Optional(Type.String({ minLength: 1 })),
    keyFile: Type.Optional(Type.String({ minLength: 1 })),
    cert: Type.Optional(Pem),
    key: Type.Optional(Pem),
    name: Type.Optional(PoolName),
  },
  { additionalProperties: false },
);

export const TlsInput = Type.Object(
  {
    certificates: Type.Array(CertificateRefInput, { minItems: 1, maxItems: 256 }),
    minVersion: Type.Optional(StringEnum(['TLSv1.2', 'TLSv1.3'] as const)),
    ciphers: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
    http2: Type.Optional(Type.Boolean()),
    redirectHttp: Type.Optional(Type.String({ pattern: ADDRESS_PATTERN, errorMessage: 'must be host:port, e.g. 0.0.0.0:80' })),
    hsts: Type.Optional(
      Type.Object(
        {
          maxAge: Type.Integer({ minimum: 0, maximum: 63_072_000 }),
          includeSubDomains: Type.Optional(Type.Boolean()),
          preload: Type.Optional(Type.Boolean()),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export const CompressionInput = Type.Object(
  {
    enabled: Type.Optional(Type.Boolean()),
    minBytes: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_073_741_824 })),
    types: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 255 }), { maxItems: 256 })),
    level: Type.Optional(Type.Integer({ minimum: 1, maximum: 9 })),
  },
  { additionalProperties: false },
);

export const HeadersInput = Type.Object(
  {
    hideServer: Type.Optional(Type.Union([Type.Boolean(), Type.String({ minLength: 1, maxLength: 255, pattern: '^[\\x20-\\x7e]+$' })])),
    removeResponse: Type.Optional(Type.Array(HeaderName, { maxItems: 256 })),
    addResponse: Type.Optional(
      Type.Record(Type.String(), Type.String({ maxLength: 8192, pattern: '^[\\x20-\\x7e\\t]*$', errorMessage: 'must be printable ASCII (no line breaks)' })),
    ),
  },
  { additionalProperties: false },
);

export const BackendTlsInput = Type.Union([
  Type.Object(
    {
      enabled: Type.Optional(Type.Boolean()),
      ca: Type.Optional(Pem),
      caFile: Type.Optional(Type.String({ minLength: 1 })),
      servername: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
      verify: Type.Optional(Type.Boolean()),
      http2: Type.Optional(Type.Boolean()),
    },
    { additionalProperties: false },
  ),
  Type.Boolean(),
]);

export const SniRouteInput = Type.Object({ host: Host, pool: PoolName }, { additionalProperties: false });

/** The edge fields, spread into ListenerInput. */
export const ListenerEdgeFields = {
  tls: Type.Optional(TlsInput),
  compression: Type.Optional(CompressionInput),
  headers: Type.Optional(HeadersInput),
  backendTls: Type.Optional(BackendTlsInput),
  sniRoutes: Type.Optional(Type.Array(SniRouteInput, { maxItems: 1000 })),
};

export type CertificateRefInput = Static<typeof CertificateRefInput>;
export type TlsInput = Static<typeof TlsInput>;
export type CompressionInput = Static<typeof CompressionInput>;
export type HeadersInput = Static<typeof HeadersInput>;
export type BackendTlsInput = Static<typeof BackendTlsInput>;
