// /api/v1/certificates: TLS certificates as cluster state. Uploads are checked here (chain, key,
// validity) and their keys sealed before the command is proposed; reads never return a key.
import { Type } from '@sinclair/typebox';
import type { X509Certificate } from 'node:crypto';
import { prepareCertificate } from '../lb/tls/certificate-upload.js';
import { EXPIRY_WARNING_MS } from '../lb/tls/certificate-expiry.js';
import { splitChain } from '../lb/tls/certificate.js';
import { TlsError } from '../lb/tls/errors.js';
import type { CertificateSpec, DataPlaneState } from '../lb/types.js';
import type { ApiContext } from './api-context.js';
import { WebError } from './errors.js';
import { created, defineRoute, ok, type ApiRoute } from './route-table.js';
import { Meta, Name } from './schemas.js';

const Pem = Type.String({ minLength: 1, maxLength: 256 * 1024 });
export const CertificateParams = Type.Object({ name: Name }, { additionalProperties: false });
export const CertificateUpload = Type.Object({ name: Name, cert: Pem, key: Pem }, { additionalProperties: false });
export const CertificateReplace = Type.Object({ cert: Pem, key: Pem }, { additionalProperties: false });

export const CertificateView = Type.Object(
  {
    name: Name,
    subject: Type.String(),
    issuer: Type.String(),
    names: Type.Array(Type.String(), { description: 'DNS names served (SAN, else CN)' }),
    notBefore: Type.String({ description: 'ISO 8601' }),
    notAfter: Type.String({ description: "ISO 8601: the chain's earliest expiry" }),
    expiresInDays: Type.Number(),
    warning: Type.Union([Type.String(), Type.Null()], { description: 'Set when it expires within 30 days, or has' }),
    fingerprint256: Type.String(),
    chainLength: Type.Integer(),
    usedBy: Type.Array(Type.String(), { description: 'Listeners that serve it' }),
  },
  { additionalProperties: false },
);
const CertificateList = Type.Object({ ...Meta.properties, certificates: Type.Array(CertificateView) }, { additionalProperties: false });
const CertificateOne = Type.Object({ ...Meta.properties, certificate: CertificateView }, { additionalProperties: false });

function subjectName(subject: string): string {
  const cn = subject.split('\n').find((l) => l.startsWith('CN='));
  return cn === undefined ? subject.replace(/\n/g, ', ') : cn.slice(3);
}

/** What the panel and ctl show of a stored certificate; computed from the PEM chain on read. */
export function certificateView(spec: CertificateSpec, state: DataPlaneState, now: number) {
  const chain = splitChain(spec.cert);
  const leaf = chain[0] as X509Certificate;
  const notAfter = Math.min(...chain.map((c) => Date.parse(c.validTo)));
  const left = notAfter - now;
  const days = Math.floor(left / 86_400_000);
  const names: string[] = [];
  for (const e of (leaf.subjectAltName ?? '').split(',')) if (e.trim().startsWith('DNS:')) names.push(e.trim().slice(4).toLowerCase());
  return {
    name: spec.name,
    subject: subjectName(leaf.subject),
    issuer: leaf.issuer.replace(/\n/g, ', '),
    names: names.length > 0 ? names : [subjectName(leaf.subject).toLowerCase()],
    notBefore: new Date(Date.parse(leaf.validFrom)).toISOString(),
    notAfter: new Date(notAfter).toISOString(),
    expiresInDays: Math.round((left / 86_400_000) * 10) / 10,
    warning: left <= 0 ? 'expired' : left <= EXPIRY_WARNING_MS ? `expires in ${days} days` : null,
    fingerprint256: leaf.fingerprint256,
    chainLength: chain.length,
    usedBy: state.listeners.filter((l) => l.tls?.certificates.some((r) => 'name' in r && r.name === spec.name)).map((l) => l.name),
  };
}

export function certificateRoutes(api: ApiContext): ApiRoute[] {
  const find = (name: string, version?: number) => {
    const s = api.deps.store.read();
    const spec = (s.certificates ?? []).find((c) => c.name === name);
    if (!spec) throw new WebError('WEB_ERR_NOT_FOUND', `no certificate named "${name}"`, { field: 'name' });
    return { ...api.meta(version ?? s.version), certificate: certificateView(spec, s, api.now()) };
  };
  const prepare = (name: string, cert: string, key: string): CertificateSpec => {
    const seal = api.deps.sealKey;
    if (seal === undefined) throw new WebError('WEB_ERR_UNAVAILABLE', 'this node has no key to seal certificate keys with');
    try {
      return prepareCertificate(name, cert, key, seal, api.now()).spec;
    } catch (err) {
      if (err instanceof TlsError) {
        const field = err.code === 'TLS_ERR_KEY_MISMATCH' || (err.code === 'TLS_ERR_PARSE' && err.message.includes('private key')) ? 'key' : 'cert';
        throw new WebError('WEB_ERR_INVALID', `${field}: ${err.message}`, { field });
      }
      throw err;
    }
  };

  return [
    defineRoute({
      method: 'GET',
      url: '/api/v1/certificates',
      summary: 'List TLS certificates with their names, expiry and a warning 30 days out (never keys)',
      tag: 'certificates',
      access: 'viewer',
      schema: { response: { 200: CertificateList } },
    }, async () => {
      const s = api.deps.store.read();
      const now = api.now();
      return ok({ ...api.meta(s.version), certificates: (s.certificates ?? []).map((c) => certificateView(c, s, now)) });
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/certificates/:name',
      summary: 'One certificate',
      tag: 'certificates',
      access: 'viewer',
      schema: { params: CertificateParams, response: { 200: CertificateOne } },
    }, async (ctx) => ok(find(ctx.params.name))),
    defineRoute({
      method: 'POST',
      url: '/api/v1/certificates',
      summary: 'Upload a certificate (PEM chain, leaf first, and its key); refused with the reason when expired, mismatched or mis-chained',
      tag: 'certificates',
      access: 'admin',
      schema: { body: CertificateUpload, response: { 201: CertificateOne } },
    }, async (ctx) => {
      if ((api.deps.store.read().certificates ?? []).some((c) => c.name === ctx.body.name)) {
        throw new WebError('WEB_ERR_CONFLICT', `certificate "${ctx.body.name}" already exists; PUT /api/v1/certificates/${ctx.body.name} replaces it`, { field: 'name' });
      }
      const spec = prepare(ctx.body.name, ctx.body.cert, ctx.body.key);
      return created(find(spec.name, await api.write(ctx, { v: 2, op: 'cert.put', certificate: spec })));
    }),
    defineRoute({
      method: 'PUT',
      url: '/api/v1/certificates/:name',
      summary: 'Replace a certificate; listeners serving it swap it for new handshakes, open connections stay',
      tag: 'certificates',
      access: 'admin',
      schema: { params: CertificateParams, body: CertificateReplace, response: { 200: CertificateOne } },
    }, async (ctx) => {
      find(ctx.params.name);
      const spec = prepare(ctx.params.name, ctx.body.cert, ctx.body.key);
      return ok(find(spec.name, await api.write(ctx, { v: 2, op: 'cert.put', certificate: spec })));
    }),
    defineRoute({
      method: 'DELETE',
      url: '/api/v1/certificates/:name',
      summary: 'Delete a certificate no listener uses',
      tag: 'certificates',
      access: 'admin',
      schema: { params: CertificateParams, response: { 200: Meta } },
    }, async (ctx) => ok(api.meta(await api.write(ctx, { v: 2, op: 'cert.delete', name: ctx.params.name })))),
  ];
}
