// Response compression at the edge: Accept-Encoding negotiation (q-values), the decision whether a
// response may be compressed, the header changes that go with it, and the streaming encoder.
import { constants, createBrotliCompress, createGzip, type BrotliCompress, type Gzip } from 'node:zlib';
import type { CompressionSpec } from '../types.js';
import type { FlatHeaders } from './types.js';

export type Coding = 'br' | 'gzip';

/** Preference when the client weighs both the same: brotli is smaller at similar CPU per byte. */
const PREFERENCE: readonly Coding[] = ['br', 'gzip'];

export const DEFAULT_COMPRESSIBLE_TYPES = [
  'text/*',
  'application/javascript',
  'application/json',
  'application/xml',
  'application/xhtml+xml',
  'application/wasm',
  'image/svg+xml',
  '+json',
  '+xml',
];

/**
 * The coding to use for an Accept-Encoding value (RFC 9110 12.5.3), or undefined for identity:
 * highest q wins, "*" covers codings not named, q=0 refuses, ties go to brotli.
 */
export function negotiate(acceptEncoding: string | undefined): Coding | undefined {
  if (acceptEncoding === undefined || acceptEncoding === '') return undefined;
  const q = new Map<string, number>();
  for (const part of acceptEncoding.split(',')) {
    const [rawName, ...params] = part.split(';');
    const name = (rawName ?? '').trim().toLowerCase();
    if (name === '') continue;
    let weight = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(p);
      if (m) weight = Math.min(1, Number(m[1]));
    }
    if (Number.isNaN(weight)) continue;
    q.set(name === 'x-gzip' ? 'gzip' : name, weight);
  }
  let best: Coding | undefined;
  let bestQ = 0;
  for (const coding of PREFERENCE) {
    const w = q.get(coding) ?? q.get('*') ?? 0;
    if (w > bestQ) {
      best = coding;
      bestQ = w;
    }
  }
  return best;
}

function headerIndex(headers: FlatHeaders, name: string): number {
  for (let i = 0; i + 1 < headers.length; i += 2) if (headers[i]?.toLowerCase() === name) return i;
  return -1;
}

function headerValue(headers: FlatHeaders, name: string): string | undefined {
  const i = headerIndex(headers, name);
  return i === -1 ? undefined : headers[i + 1];
}

function removeHeader(headers: FlatHeaders, name: string): void {
  for (let i = headers.length - 2; i >= 0; i -= 2) if (headers[i]?.toLowerCase() === name) headers.splice(i, 2);
}

/** The Content-Length of a flat header list, when present and a number. */
export function contentLength(headers: FlatHeaders): number | undefined {
  const v = headerValue(headers, 'content-length');
  const n = v === undefined ? NaN : Number(v);
  return Number.isFinite(n) ? n : undefined;
}

export function typeMatches(contentType: string, types: readonly string[]): boolean {
  const type = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  if (type === '') return false;
  return types.some((t) => {
    const want = t.toLowerCase();
    if (want.startsWith('+')) return type.endsWith(want);
    if (want.endsWith('/*')) return type.startsWith(want.slice(0, -1));
    return type === want;
  });
}

/** Add Accept-Encoding to Vary unless it is there already (or Vary is "*"). */
function addVary(headers: FlatHeaders): void {
  const i = headerIndex(headers, 'vary');
  if (i === -1) {
    headers.push('Vary', 'Accept-Encoding');
    return;
  }
  const tokens = (headers[i + 1] ?? '').split(',').map((t) => t.trim().toLowerCase());
  if (tokens.includes('*') || tokens.includes('accept-encoding')) return;
  headers[i + 1] = `${headers[i + 1]}, Accept-Encoding`;
}

export interface CompressionRequest {
  method: string;
  acceptEncoding: string | undefined;
}

/**
 * Decide for one response and rewrite its headers in place: the coding to encode with, or
 * undefined to pass the body as it is. A compressible type always gets Vary: Accept-Encoding
 * (a cache in front must not hand a gzip body to a client that did not ask for it).
 */
export function planCompression(spec: CompressionSpec, req: CompressionRequest, status: number, headers: FlatHeaders): Coding | undefined {
  if (!spec.enabled) return undefined;
  const type = headerValue(headers, 'content-type');
  if (type === undefined || !typeMatches(type, spec.types)) return undefined;
  const encoded = headerValue(headers, 'content-encoding');
  // The backend chose an encoding (and its own Vary): leave both alone.
  if (encoded !== undefined && encoded.trim().toLowerCase() !== 'identity') return undefined;
  addVary(headers);
  if (req.method === 'HEAD' || status < 200 || status === 204 || status === 206 || status === 304) return undefined;
  if (headerValue(headers, 'content-range') !== undefined) return undefined;
  if (/(^|,)\s*no-transform\s*(,|$)/i.test(headerValue(headers, 'cache-control') ?? '')) return undefined;
  const length = headerValue(headers, 'content-length');
  if (length !== undefined && Number(length) < spec.minBytes) return undefined;
  const coding = negotiate(req.acceptEncoding);
  if (coding === undefined) return undefined;
  removeHeader(headers, 'content-length');
  removeHeader(headers, 'content-encoding');
  // Byte ranges of the identity body mean nothing for the encoded one.
  removeHeader(headers, 'accept-ranges');
  const etag = headerIndex(headers, 'etag');
  // A strong validator names exact bytes, and these bytes are ours now (RFC 9110 8.8.1).
  if (etag !== -1 && !(headers[etag + 1] ?? '').startsWith('W/')) headers[etag + 1] = `W/${headers[etag + 1] ?? ''}`;
  headers.push('Content-Encoding', coding);
  return coding;
}

/** A streaming encoder; `sizeHint` (Content-Length) lets brotli size its window. */
export function createEncoder(coding: Coding, level: number, sizeHint: number | undefined): Gzip | BrotliCompress {
  switch (coding) {
    case 'gzip':
      return createGzip({ level });
    case 'br': {
      const params: Record<number, number> = {
        [constants.BROTLI_PARAM_QUALITY]: level,
        [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
      };
      if (sizeHint !== undefined && Number.isFinite(sizeHint)) params[constants.BROTLI_PARAM_SIZE_HINT] = sizeHint;
      return createBrotliCompress({ params });
    }
    default: {
      const never: never = coding;
      throw new Error(`unknown coding ${String(never)}`);
    }
  }
}
