// OCSP on the wire (RFC 6960): the responder URL of a certificate, the DER request for it, and the
// few fields of a response a stapler needs (status, thisUpdate, nextUpdate), checked to be signed by
// the certificate's issuer or a responder it delegated to (RFC 6960 4.2.2.2), as nginx's
// ssl_stapling_verify does: a client that gets an invalid staple may refuse the connection.
// node:crypto has no OCSP codec and the messages are small, so a minimal DER reader/writer does it.
import { createHash, verify, X509Certificate } from 'node:crypto';

export type OcspCertStatus = 'good' | 'revoked' | 'unknown';

export interface OcspAnswer {
  status: OcspCertStatus;
  thisUpdate: number;
  /** Absent: the responder promises nothing about when newer information is available. */
  nextUpdate: number | undefined;
}

interface Tlv {
  tag: number;
  /** Offsets in the buffer: the whole element, and its content. */
  start: number;
  contentStart: number;
  end: number;
}

const SHA1_OID = Buffer.from('2b0e03021a', 'hex');
/** id-kp-OCSPSigning: a delegated responder certificate must carry it. */
const OCSP_SIGNING = '1.3.6.1.5.5.7.3.9';
/** Signature algorithms (OID as hex DER content) to the digest node's verify() takes. */
const SIGNATURE_DIGESTS: Readonly<Record<string, string>> = {
  '2a864886f70d010105': 'sha1', // sha1WithRSAEncryption
  '2a864886f70d01010b': 'sha256', // sha256WithRSAEncryption
  '2a864886f70d01010c': 'sha384',
  '2a864886f70d01010d': 'sha512',
  '2a8648ce3d040301': 'sha1', // ecdsa-with-SHA1
  '2a8648ce3d040302': 'sha256', // ecdsa-with-SHA256
  '2a8648ce3d040303': 'sha384',
  '2a8648ce3d040304': 'sha512',
};
const BASIC_RESPONSE_OID = Buffer.from('2b0601050507300101', 'hex');

function readTlv(buf: Buffer, at: number): Tlv {
  const tag = buf[at];
  let len = buf[at + 1];
  if (tag === undefined || len === undefined) throw new Error('truncated DER');
  let p = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new Error('unsupported DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (buf[p + i] ?? Number.NaN);
    p += n;
  }
  if (!Number.isFinite(len) || p + len > buf.length) throw new Error('truncated DER');
  return { tag, start: at, contentStart: p, end: p + len };
}

function children(buf: Buffer, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.contentStart; at < parent.end; ) {
    const t = readTlv(buf, at);
    out.push(t);
    at = t.end;
  }
  return out;
}

function content(buf: Buffer, t: Tlv): Buffer {
  return buf.subarray(t.contentStart, t.end);
}

function tlv(tag: number, body: Buffer): Buffer {
  const n = body.length;
  const len = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, body]);
}

const seq = (...parts: Buffer[]): Buffer => tlv(0x30, Buffer.concat(parts));

/** The OCSP responder named in the certificate's Authority Information Access, if any. */
export function ocspUrl(cert: X509Certificate): string | undefined {
  for (const line of (cert.infoAccess ?? '').split('\n')) {
    const m = /^OCSP - URI:(\S+)$/.exec(line.trim());
    if (m?.[1] !== undefined && /^https?:\/\//i.test(m[1])) return m[1];
  }
  return undefined;
}

/** INTEGER content of a certificate serial (node gives hex without the sign byte). */
function serialBytes(cert: X509Certificate): Buffer {
  const hex = cert.serialNumber.length % 2 === 0 ? cert.serialNumber : `0${cert.serialNumber}`;
  const raw = Buffer.from(hex, 'hex');
  return (raw[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), raw]) : raw;
}

/** The issuer's subject Name, as DER: the 6th field of its TBSCertificate (5th without a version). */
function subjectDer(cert: X509Certificate): Buffer {
  const der = cert.raw;
  const tbs = children(der, readTlv(der, 0))[0];
  if (tbs === undefined) throw new Error('certificate without TBSCertificate');
  const fields = children(der, tbs);
  const subject = fields[fields[0]?.tag === 0xa0 ? 5 : 4];
  if (subject === undefined) throw new Error('certificate without subject');
  return der.subarray(subject.start, subject.end);
}

/** The issuer's public key bits (subjectPublicKeyInfo's BIT STRING, without its unused-bits byte). */
function publicKeyBits(cert: X509Certificate): Buffer {
  const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
  const bits = children(spki, readTlv(spki, 0))[1];
  if (bits?.tag !== 0x03) throw new Error('subjectPublicKeyInfo without a BIT STRING');
  return spki.subarray(bits.contentStart + 1, bits.end);
}

/** A DER OCSPRequest for one certificate, CertID hashed with SHA-1 as every responder accepts. */
export function ocspRequest(cert: X509Certificate, issuer: X509Certificate): Buffer {
  const sha1 = (b: Buffer): Buffer => createHash('sha1').update(b).digest();
  const certId = seq(
    seq(tlv(0x06, SHA1_OID), Buffer.from([0x05, 0x00])),
    tlv(0x04, sha1(subjectDer(issuer))),
    tlv(0x04, sha1(publicKeyBits(issuer))),
    tlv(0x02, serialBytes(cert)),
  );
  // OCSPRequest > TBSRequest > requestList > Request > CertID
  return seq(seq(seq(seq(certId))));
}

/** GeneralizedTime (YYYYMMDDHHMMSS[.fff]Z) to epoch ms. */
function generalizedTime(text: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d+))?Z$/.exec(text);
  if (m === null) throw new Error(`unsupported GeneralizedTime ${text}`);
  const [, y, mo, d, h, mi, s, frac] = m;
  return Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), Math.round(Number(`0.${frac ?? '0'}`) * 1000));
}

/**
 * Whether the BasicOCSPResponse's signature over its tbsResponseData is the issuer's own, or that
 * of a certificate it embeds which the issuer signed for OCSP signing. Throws when it is neither.
 */
function checkSignature(basic: Buffer, parts: Tlv[], issuer: X509Certificate): void {
  const [tbs, algorithm, signature, certs] = parts;
  if (tbs === undefined || algorithm === undefined || signature?.tag !== 0x03) throw new Error('basic response without a signature');
  const oid = children(basic, algorithm)[0];
  const digest = oid === undefined ? undefined : SIGNATURE_DIGESTS[content(basic, oid).toString('hex')];
  if (digest === undefined) throw new Error('unsupported OCSP signature algorithm');
  const signed = basic.subarray(tbs.start, tbs.end);
  const sig = basic.subarray(signature.contentStart + 1, signature.end);
  const signers = [issuer];
  const list = certs?.tag === 0xa0 ? children(basic, certs)[0] : undefined;
  for (const c of list === undefined ? [] : children(basic, list)) {
    const delegate = new X509Certificate(basic.subarray(c.start, c.end));
    if (delegate.checkIssued(issuer) && delegate.verify(issuer.publicKey) && (delegate.keyUsage ?? []).includes(OCSP_SIGNING)) signers.push(delegate);
  }
  if (!signers.some((s) => verify(digest, signed, s.publicKey, sig))) throw new Error('the response is not signed by the issuer or a responder it delegated to');
}

/**
 * Status and validity for `cert` in a DER OCSPResponse signed for `issuer`. Throws when the
 * responder refused (responseStatus other than successful), the response is not a basic one, its
 * signature does not check out, or it says nothing about this certificate.
 */
export function parseOcspResponse(der: Buffer, cert: X509Certificate, issuer: X509Certificate): OcspAnswer {
  const top = children(der, readTlv(der, 0));
  const status = top[0];
  if (status?.tag !== 0x0a) throw new Error('not an OCSPResponse');
  const code = content(der, status)[0];
  if (code !== 0) throw new Error(`responder refused: responseStatus ${String(code)}`);
  const wrapped = top[1];
  if (wrapped?.tag !== 0xa0) throw new Error('successful OCSPResponse without responseBytes');
  const responseBytes = children(der, wrapped)[0];
  const [type, octets] = responseBytes === undefined ? [] : children(der, responseBytes);
  if (type === undefined || octets === undefined || !content(der, type).equals(BASIC_RESPONSE_OID)) throw new Error('not a basic OCSP response');
  const basic = content(der, octets);
  const parts = children(basic, readTlv(basic, 0));
  checkSignature(basic, parts, issuer);
  const tbs = parts[0];
  if (tbs === undefined) throw new Error('basic response without tbsResponseData');
  const fields = children(basic, tbs).filter((f) => f.tag === 0x30);
  // ResponseData's only universal SEQUENCE is `responses` (version, responderID are tagged).
  const responses = fields[0];
  if (responses === undefined) throw new Error('basic response without responses');
  const serial = serialBytes(cert);
  for (const single of children(basic, responses)) {
    const [certId, certStatus, thisUpdate, ...rest] = children(basic, single);
    if (certId === undefined || certStatus === undefined || thisUpdate?.tag !== 0x18) continue;
    const idSerial = children(basic, certId)[3];
    if (idSerial === undefined || !content(basic, idSerial).equals(serial)) continue;
    const next = rest.find((f) => f.tag === 0xa0);
    const nextTime = next === undefined ? undefined : children(basic, next)[0];
    return {
      status: certStatus.tag === 0x80 ? 'good' : certStatus.tag === 0xa1 ? 'revoked' : 'unknown',
      thisUpdate: generalizedTime(content(basic, thisUpdate).toString('latin1')),
      nextUpdate: nextTime === undefined ? undefined : generalizedTime(content(basic, nextTime).toString('latin1')),
    };
  }
  throw new Error('the response does not cover this certificate');
}
