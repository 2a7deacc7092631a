// The Maglev lookup table (Eisenbud et al., NSDI 2016) with weighted population (as Envoy's
// MaglevTable): each backend walks its own permutation of the slots and claims free ones in
// turn, a backend of weight w taking a turn on w/maxWeight of the rounds.
import { hash32 } from './hash.js';

/**
 * 65537 is prime (Maglev needs a prime so every skip is coprime with the size) and keeps the
 * table at 128 KiB of Uint16 with room for 100+ slots per backend up to ~600 backends, which
 * is what keeps remapping close to the 1/N ideal. A rebuild costs a few milliseconds and only
 * happens on membership or weight change.
 */
export const MAGLEV_TABLE_SIZE = 65537;

const EMPTY = 0xffff;

export interface MaglevEntry {
  readonly id: string;
  /** > 0; any positive number, only ratios matter. */
  readonly weight: number;
}

export interface MaglevTable {
  /** Backend ids, indexed by the values of `slots`. */
  readonly ids: readonly string[];
  /** slot -> index into `ids`. */
  readonly slots: Uint16Array;
}

/**
 * Build the table. Entries are sorted by id first, so every worker and every node that sees the
 * same members and weights builds the same table and sends a client to the same backend.
 */
export function buildMaglevTable(entries: readonly MaglevEntry[], size = MAGLEV_TABLE_SIZE): MaglevTable {
  const sorted = [...entries].filter((e) => e.weight > 0).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const n = sorted.length;
  const slots = new Uint16Array(size).fill(EMPTY);
  const ids = sorted.map((e) => e.id);
  if (n === 0) return { ids, slots };
  if (n >= EMPTY) throw new RangeError(`maglev: at most ${EMPTY - 1} backends`);
  if (size < n) throw new RangeError(`maglev: table size ${size} below ${n} backends`);

  const position = new Float64Array(n);
  const skip = new Float64Array(n);
  const weight = new Float64Array(n);
  const credit = new Float64Array(n);
  let maxWeight = 0;
  for (let i = 0; i < n; i++) {
    const e = sorted[i] as MaglevEntry;
    position[i] = hash32(e.id, 1) % size;
    skip[i] = (hash32(e.id, 2) % (size - 1)) + 1;
    weight[i] = e.weight;
    if (e.weight > maxWeight) maxWeight = e.weight;
  }

  let filled = 0;
  // The heaviest backend takes a turn every round, so each round fills at least one slot and
  // the loop ends after at most `size` rounds.
  for (let round = 0; filled < size; round++) {
    for (let i = 0; i < n && filled < size; i++) {
      if (round * (weight[i] as number) < (credit[i] as number)) continue;
      credit[i] = (credit[i] as number) + maxWeight;
      let c = position[i] as number;
      const s = skip[i] as number;
      while (slots[c] !== EMPTY) c = (c + s) % size;
      slots[c] = i;
      position[i] = (c + s) % size;
      filled++;
    }
  }
  return { ids, slots };
}
