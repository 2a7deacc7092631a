// Plain-data <-> JSON-safe values. net-ipc frames messages as JSON (msgpackr is only an optional
// dependency of it, not ours), and JSON turns a Uint8Array into {"0":..} and a Buffer into
// {type,data}; so bytes travel explicitly as {"$u8": base64}. An object that happens to own a
// "$u8" or "$esc" key is wrapped as {"$esc": {...}} so it can never be mistaken for bytes.
import { TransportError } from './errors.js';

export type WireValue = null | boolean | number | string | WireValue[] | { [key: string]: WireValue };

const BYTES = '$u8';
const ESCAPE = '$esc';

function isPlainObject(v: object): boolean {
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function encodeAt(value: unknown, path: string): WireValue {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TransportError('TRANSPORT_ERR_ENCODE', `${path} is ${value}, which JSON cannot carry`);
    return value;
  }
  if (value instanceof Uint8Array) {
    return { [BYTES]: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  }
  if (Array.isArray(value)) {
    return value.map((v, i) => {
      if (v === undefined) throw new TransportError('TRANSPORT_ERR_ENCODE', `${path}[${i}] is undefined`);
      return encodeAt(v, `${path}[${i}]`);
    });
  }
  if (typeof value === 'object' && isPlainObject(value)) {
    const out: { [key: string]: WireValue } = {};
    let needsEscape = false;
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue; // as JSON would: an absent optional field
      if (k === BYTES || k === ESCAPE) needsEscape = true;
      out[k] = encodeAt(v, `${path}.${k}`);
    }
    return needsEscape ? { [ESCAPE]: out } : out;
  }
  const kind = typeof value === 'object' ? (value.constructor?.name ?? 'object') : typeof value;
  throw new TransportError('TRANSPORT_ERR_ENCODE', `${path} is a ${kind}, not plain data`);
}

/** Encodes a message into JSON-safe values; throws TRANSPORT_ERR_ENCODE naming the offending path. */
export function encodeWire(value: unknown): WireValue {
  return encodeAt(value, 'message');
}

function decodeObject(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) out[k] = decodeWire(v);
  return out;
}

/** Inverse of encodeWire; bytes come back as plain Uint8Array (not Buffer). */
export function decodeWire(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(decodeWire);
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (keys.length === 1 && keys[0] === BYTES) {
    const b64 = obj[BYTES];
    if (typeof b64 !== 'string') throw new TransportError('TRANSPORT_ERR_DECODE', 'byte field is not a base64 string');
    const buf = Buffer.from(b64, 'base64');
    return new Uint8Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
  }
  if (keys.length === 1 && keys[0] === ESCAPE) {
    const inner = obj[ESCAPE];
    if (typeof inner !== 'object' || inner === null || Array.isArray(inner)) throw new TransportError('TRANSPORT_ERR_DECODE', 'escaped object is malformed');
    return decodeObject(inner as Record<string, unknown>);
  }
  return decodeObject(obj);
}
