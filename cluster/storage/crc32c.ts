// CRC-32C (Castagnoli), table-driven; Node 20's zlib only has the IEEE CRC-32 and we want no native dependency.
// Slicing-by-4 tables: about 4x the throughput of the byte-wise loop for snapshot-sized inputs.

const POLY = 0x82f63b78; // reflected Castagnoli polynomial

const TABLES: Uint32Array[] = (() => {
  const t0 = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t0[n] = c >>> 0;
  }
  const tables = [t0];
  for (let s = 1; s < 4; s++) {
    const prev = tables[s - 1] as Uint32Array;
    const t = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      const p = prev[n] as number;
      t[n] = ((p >>> 8) ^ (t0[p & 0xff] as number)) >>> 0;
    }
    tables.push(t);
  }
  return tables;
})();

const T0 = TABLES[0] as Uint32Array;
const T1 = TABLES[1] as Uint32Array;
const T2 = TABLES[2] as Uint32Array;
const T3 = TABLES[3] as Uint32Array;

/**
 * CRC-32C of `bytes[start, end)`, continuing from `crc` (the value a previous call returned) so a
 * checksum can span several slices without copying them together.
 */
export function crc32c(bytes: Uint8Array, crc = 0, start = 0, end = bytes.length): number {
  let c = ~crc >>> 0;
  let i = start;
  const fast = end - ((end - start) & 3);
  for (; i < fast; i += 4) {
    c ^= (bytes[i] as number) | ((bytes[i + 1] as number) << 8) | ((bytes[i + 2] as number) << 16) | ((bytes[i + 3] as number) << 24);
    c =
      (T3[c & 0xff] as number) ^
      (T2[(c >>> 8) & 0xff] as number) ^
      (T1[(c >>> 16) & 0xff] as number) ^
      (T0[c >>> 24] as number);
  }
  for (; i < end; i++) c = (T0[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return ~c >>> 0;
}
