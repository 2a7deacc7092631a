// Stable 32-bit string hashing for ip-hash: FNV-1a over UTF-16 code units, then murmur3's fmix32.
// FNV-1a alone leaves the low bits poorly mixed for short, similar keys such as "10.0.0.1" and
// "10.0.0.2"; the finalizer spreads them before we reduce modulo the table size. Written here
// instead of node:crypto because a digest per pick costs microseconds and allocates.

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** murmur3 32-bit finalizer: full avalanche of a 32-bit value. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Unsigned 32-bit hash of `s`; `seed` derives independent hash functions (Maglev needs two). */
export function hash32(s: string, seed = 0): number {
  let h = (FNV_OFFSET ^ Math.imul(seed, 0x9e3779b1)) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  return fmix32(h);
}
