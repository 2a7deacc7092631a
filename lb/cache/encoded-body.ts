// Compressed copies of a stored body, made once per coding (off the event loop, by zlib's thread
// pool) and kept with the entry, so a hit for a client that accepts gzip or br costs no encoding.
import { brotliCompress, constants, gzip } from 'node:zlib';
import type { Coding } from '../http/compression.js';
import type { CacheEntry } from './types.js';

function encode(coding: Coding, body: Buffer, level: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, out: Buffer): void => (err === null ? resolve(out) : reject(err));
    switch (coding) {
      case 'gzip':
        gzip(body, { level }, done);
        return;
      case 'br':
        brotliCompress(
          body,
          { params: { [constants.BROTLI_PARAM_QUALITY]: level, [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT, [constants.BROTLI_PARAM_SIZE_HINT]: body.length } },
          done,
        );
        return;
      default: {
        const never: never = coding;
        reject(new Error(`unknown coding ${String(never)}`));
      }
    }
  });
}

/**
 * The entry's body in `coding`: the kept copy, or a promise of it while the first request for it
 * waits (later ones wait on the same promise). `onStored` reports the bytes kept, for the bound.
 */
export function encodedBody(entry: CacheEntry, coding: Coding, level: number, onStored: (bytes: number) => void): Buffer | Promise<Buffer> {
  const encoded = (entry.encoded ??= {});
  const kept = encoded[coding];
  if (kept !== undefined) return kept;
  const made = encode(coding, Buffer.concat(entry.body), level).then(
    (out) => {
      encoded[coding] = out;
      onStored(out.length);
      return out;
    },
    (err: unknown) => {
      // The next request tries again.
      delete encoded[coding];
      throw err;
    },
  );
  encoded[coding] = made;
  return made;
}
