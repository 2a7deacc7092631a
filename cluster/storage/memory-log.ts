// In-memory DurableLog for tests of the node driver: same overwrite and snapshot semantics as the
// disk log, and recover() hands back what a restart would see (everything saved is "durable").
import type { Entry, HardState, Snapshot } from '../raft/types.js';
import type { DurableLog, RecoveredLog } from './types.js';
import { StorageError } from './errors.js';

function copyEntry(e: Entry): Entry {
  return { term: e.term, index: e.index, type: e.type, data: new Uint8Array(e.data) };
}

export class MemoryDurableLog implements DurableLog {
  #hardState: HardState = { term: 0, vote: null, commit: 0 };
  #snapshot: Snapshot | null = null;
  #entries: Entry[] = [];
  #closed = false;
  /** How many save() calls wrote something: stands in for the disk log's fsync count. */
  syncs = 0;

  get #base(): number {
    return this.#snapshot?.meta.index ?? 0;
  }

  async save(hardState: HardState | null, entries: readonly Entry[]): Promise<void> {
    if (this.#closed) throw new StorageError('STORAGE_ERR_CLOSED', 'the log is closed');
    const first = entries[0];
    if (first !== undefined) {
      const last = this.#base + this.#entries.length;
      entries.forEach((e, i) => {
        if (e.index !== first.index + i) throw new StorageError('STORAGE_ERR_INVALID', `entries are not contiguous at position ${i}`);
      });
      if (first.index <= this.#base) throw new StorageError('STORAGE_ERR_INVALID', `entry ${first.index} is at or below the snapshot index`);
      if (first.index > last + 1) throw new StorageError('STORAGE_ERR_INVALID', `entry ${first.index} leaves a gap after ${last}`);
      this.#entries.length = first.index - this.#base - 1;
      for (const e of entries) this.#entries.push(copyEntry(e));
    }
    if (hardState) this.#hardState = { ...hardState };
    if (first !== undefined || hardState) this.syncs++;
  }

  async saveSnapshot(snapshot: Snapshot): Promise<void> {
    if (this.#closed) throw new StorageError('STORAGE_ERR_CLOSED', 'the log is closed');
    const { index, term } = snapshot.meta;
    if (index <= this.#base) return;
    const ours = this.#entries[index - this.#base - 1];
    this.#entries = ours?.term === term ? this.#entries.slice(index - this.#base) : [];
    this.#snapshot = { meta: structuredClone(snapshot.meta), data: new Uint8Array(snapshot.data) };
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  /** What a restart would recover; also reopens a closed log, as a new process would. */
  recover(): RecoveredLog {
    this.#closed = false;
    return {
      hardState: { ...this.#hardState },
      snapshot: this.#snapshot ? { meta: structuredClone(this.#snapshot.meta), data: new Uint8Array(this.#snapshot.data) } : null,
      entries: this.#entries.map(copyEntry),
      truncatedBytes: 0,
    };
  }
}
