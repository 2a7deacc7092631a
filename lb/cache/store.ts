// CacheStore: one route's cached responses in one worker. A byte-bounded LRU (a Map kept in use
// order), Vary variants per request target, purges with a generation, and the in-flight fills
// that coalesce concurrent misses for one target.
import type { CacheEntry } from './types.js';

/** Bookkeeping bytes counted per entry beside its body and headers (maps, object, key). */
const ENTRY_OVERHEAD = 256;

export interface StoreListener {
  /** Entries dropped to stay under the memory bound. */
  evicted(count: number): void;
  /** Bytes and entries after any change. */
  resized(bytes: number, entries: number): void;
}

/** A fill in flight for one target: later misses wait on `done` instead of going to the backend. */
export interface Fill {
  readonly target: string;
  readonly done: Promise<void>;
}

interface FillSlot extends Fill {
  finish(): void;
}

/** Lowercased request header lookup. */
export type RequestHeader = (name: string) => string | undefined;

export function entrySize(e: Pick<CacheEntry, 'key' | 'headers' | 'bodyBytes' | 'encodedBytes'>): number {
  let headerBytes = 0;
  for (const h of e.headers) headerBytes += h.length;
  return e.bodyBytes + (e.encodedBytes ?? 0) + headerBytes + e.key.length * 2 + ENTRY_OVERHEAD;
}

export class CacheStore {
  /** Least recently used first. */
  private readonly entries = new Map<string, CacheEntry>();
  /** Vary names of the latest stored response per target. */
  private readonly varyOf = new Map<string, string[]>();
  private readonly variants = new Map<string, Set<string>>();
  private readonly fills = new Map<string, FillSlot>();
  private used = 0;
  private gen = 0;

  constructor(
    private maxBytes: number,
    private readonly listener: StoreListener,
  ) {}

  resize(maxBytes: number): void {
    this.maxBytes = maxBytes;
    this.evictToFit(0);
    this.report();
  }

  bytes(): number {
    return this.used;
  }

  count(): number {
    return this.entries.size;
  }

  /** Bumped by every purge: a fill that started under an older generation is not stored. */
  generation(): number {
    return this.gen;
  }

  /** The full key of a request for `target` given the names the stored responses vary on. */
  keyFor(target: string, header: RequestHeader, vary: readonly string[]): string {
    if (vary.length === 0) return target;
    return `${target}\u0000${vary.map((n) => `${n}=${header(n) ?? ''}`).join('\u0001')}`;
  }

  /** The entry this request would be served from (fresh or not); marks it recently used. */
  lookup(target: string, header: RequestHeader): CacheEntry | undefined {
    const vary = this.varyOf.get(target);
    if (vary === undefined) return undefined;
    const key = this.keyFor(target, header, vary);
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry;
  }

  /** Store (or replace) an entry; false when it can never fit. */
  put(entry: CacheEntry, vary: readonly string[]): boolean {
    if (entry.size > this.maxBytes) return false;
    const known = this.varyOf.get(entry.target);
    if (known !== undefined && known.join(',') !== vary.join(',')) this.invalidateTarget(entry.target);
    this.varyOf.set(entry.target, [...vary]);
    this.drop(entry.key);
    this.evictToFit(entry.size);
    this.entries.set(entry.key, entry);
    this.used += entry.size;
    const set = this.variants.get(entry.target) ?? new Set<string>();
    set.add(entry.key);
    this.variants.set(entry.target, set);
    this.report();
    return true;
  }

  /** Re-account an entry whose headers changed in place (a 304 refresh). */
  resized(entry: CacheEntry, newSize: number): void {
    if (this.entries.get(entry.key) !== entry) return;
    this.used += newSize - entry.size;
    entry.size = newSize;
    this.evictToFit(0);
    this.report();
  }

  remove(key: string): void {
    this.drop(key);
    this.report();
  }

  /** Every variant of a target (an unsafe method went through it, or its Vary changed). */
  invalidateTarget(target: string): void {
    for (const key of this.variants.get(target) ?? []) this.drop(key);
    this.variants.delete(target);
    this.varyOf.delete(target);
    this.report();
  }

  /** Drop entries whose path starts with `prefix` (all when absent); returns how many. */
  purge(prefix: string | undefined): number {
    this.gen += 1;
    let n = 0;
    for (const entry of [...this.entries.values()]) {
      if (prefix !== undefined && !entry.path.startsWith(prefix)) continue;
      this.drop(entry.key);
      n++;
    }
    this.report();
    return n;
  }

  pendingFill(target: string): Fill | undefined {
    return this.fills.get(target);
  }

  /** Register the fill for `target`; the returned function ends it (waiters then look again). */
  startFill(target: string): () => void {
    let finish = (): void => undefined;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const slot: FillSlot = { target, done, finish };
    this.fills.set(target, slot);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      if (this.fills.get(target) === slot) this.fills.delete(target);
      slot.finish();
    };
  }

  private drop(key: string): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.entries.delete(key);
    this.used -= entry.size;
    const set = this.variants.get(entry.target);
    set?.delete(key);
    if (set !== undefined && set.size === 0) {
      this.variants.delete(entry.target);
      this.varyOf.delete(entry.target);
    }
  }

  private evictToFit(incoming: number): void {
    let evicted = 0;
    for (const key of this.entries.keys()) {
      if (this.used + incoming <= this.maxBytes) break;
      this.drop(key);
      evicted++;
    }
    if (evicted > 0) this.listener.evicted(evicted);
  }

  private report(): void {
    this.listener.resized(this.used, this.entries.size);
  }
}
