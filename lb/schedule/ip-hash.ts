// Source-address affinity by consistent hashing: a Maglev table over the eligible backends,
// rebuilt lazily after membership or weight changes, O(1) lookup per pick.
import { hash32 } from './hash.js';
import { buildMaglevTable, MAGLEV_TABLE_SIZE, type MaglevTable } from './maglev-table.js';
import type { Scheduler } from './types.js';

const V4_MAPPED = '::ffff:';

/** The same client reaches a dual-stack listener as "::ffff:a.b.c.d" or "a.b.c.d"; hash both alike. */
export function normalizeClientKey(key: string): string {
  return key.startsWith(V4_MAPPED) && key.includes('.') ? key.slice(V4_MAPPED.length) : key;
}

export class IpHashScheduler implements Scheduler {
  readonly name = 'ip-hash' as const;
  private readonly weights = new Map<string, number>();
  private table: MaglevTable | undefined;
  private readonly size: number;

  constructor(tableSize = MAGLEV_TABLE_SIZE) {
    this.size = tableSize;
  }

  up(id: string, weight: number): void {
    if (!(weight > 0)) {
      this.down(id);
      return;
    }
    if (this.weights.get(id) === weight) return;
    this.weights.set(id, weight);
    this.table = undefined;
  }

  down(id: string): void {
    if (this.weights.delete(id)) this.table = undefined;
  }

  setWeight(id: string, weight: number): void {
    if (this.weights.has(id)) this.up(id, weight);
  }

  take(_id: string): void {}

  drop(_id: string): void {}

  /** Fraction of the table each backend holds (for tests and the panel). */
  shares(): Record<string, number> {
    const t = this.current();
    const counts = new Array<number>(t.ids.length).fill(0);
    for (const s of t.slots) counts[s] = (counts[s] ?? 0) + 1;
    const out: Record<string, number> = {};
    t.ids.forEach((id, i) => (out[id] = (counts[i] ?? 0) / t.slots.length));
    return out;
  }

  pick(key: string, exclude?: ReadonlySet<string>): string | undefined {
    if (this.weights.size === 0) return undefined;
    const t = this.current();
    let slot = hash32(normalizeClientKey(key)) % this.size;
    const first = t.ids[t.slots[slot] as number];
    if (exclude === undefined || exclude.size === 0 || (first !== undefined && !exclude.has(first))) return first;
    // A retry walks forward slot by slot to the next backend not yet tried: deterministic for
    // the client, and spread by the table's interleaving rather than always the same neighbour.
    if (t.ids.every((id) => exclude.has(id))) return undefined;
    for (let k = 1; k < this.size; k++) {
      slot = slot + 1 === this.size ? 0 : slot + 1;
      const id = t.ids[t.slots[slot] as number];
      if (id !== undefined && !exclude.has(id)) return id;
    }
    return undefined;
  }

  private current(): MaglevTable {
    if (this.table === undefined) {
      this.table = buildMaglevTable(
        [...this.weights].map(([id, weight]) => ({ id, weight })),
        this.size,
      );
    }
    return this.table;
  }
}
