// The safety properties the simulator checks after every event: election safety, log matching,
// leader completeness, state machine safety, durability of acknowledged writes, one VIP lease.
import type { Entry } from '../../cluster/raft/types.js';
import type { Disk } from './scripted-cluster.js';

export class SimViolation extends Error {
  constructor(
    readonly invariant: string,
    readonly detail: string,
  ) {
    super(`${invariant}: ${detail}`);
    this.name = 'SimViolation';
  }
}

const dec = new TextDecoder();

function digest(e: Entry): string {
  return `${e.type}:${dec.decode(e.data)}`;
}

/** Term of entry i on disk; null if the disk does not hold it. Entries are contiguous. */
export function diskTerm(disk: Disk, i: number): number | null {
  if (disk.snapshot !== null && disk.snapshot.meta.index === i) return disk.snapshot.meta.term;
  if (i === 0) return 0;
  const first = disk.entries[0];
  if (first === undefined) return null;
  return disk.entries[i - first.index]?.term ?? null;
}

/** Whether the disk holds entry (i, term) or a snapshot that covers i. */
function diskHas(disk: Disk, i: number, term: number): boolean {
  if (disk.snapshot !== null && disk.snapshot.meta.index >= i) return true;
  return diskTerm(disk, i) === term;
}

export class SafetyChecker {
  /** term -> the one node that led it. */
  private readonly leaders = new Map<number, string>();
  /** `${index}:${term}` -> the entry's content and the term of the entry before it. */
  private readonly entries = new Map<string, { digest: string; prevTerm: number | null }>();
  /** index -> the committed entry, with the time it was first seen applied. */
  readonly committed = new Map<number, { term: number; digest: string; at: number }>();
  /** Acknowledged client writes: (index, term) that must survive anything. */
  readonly acked: { index: number; term: number; what: string }[] = [];
  elections = 0;

  onLeader(id: string, term: number, disk: Disk, at: number): void {
    const prev = this.leaders.get(term);
    if (prev !== undefined && prev !== id) {
      throw new SimViolation('election safety', `${prev} and ${id} both leaders of term ${term}`);
    }
    if (prev === undefined) this.elections++;
    this.leaders.set(term, id);
    // Leader completeness: every entry seen committed before this election is in the new log.
    const snapIndex = disk.snapshot?.meta.index ?? 0;
    for (const [i, c] of this.committed) {
      if (i <= snapIndex || c.at > at) continue;
      if (diskTerm(disk, i) !== c.term) {
        throw new SimViolation('leader completeness', `${id} leads term ${term} without committed entry ${i} (term ${c.term})`);
      }
    }
  }

  /** Entries just written to a node's disk (after the write). */
  onPersist(id: string, disk: Disk, written: readonly Entry[]): void {
    for (const e of written) {
      const k = `${e.index}:${e.term}`;
      const prevTerm = diskTerm(disk, e.index - 1);
      const seen = this.entries.get(k);
      if (seen === undefined) {
        this.entries.set(k, { digest: digest(e), prevTerm });
        continue;
      }
      if (seen.digest !== digest(e)) {
        throw new SimViolation('log matching', `${id} holds a different entry at index ${e.index} term ${e.term}`);
      }
      if (seen.prevTerm !== null && prevTerm !== null && seen.prevTerm !== prevTerm) {
        throw new SimViolation('log matching', `${id}: entry ${e.index} (term ${e.term}) follows term ${prevTerm}, elsewhere term ${seen.prevTerm}`);
      }
      if (seen.prevTerm === null && prevTerm !== null) seen.prevTerm = prevTerm;
    }
  }

  /** State machine safety: no two nodes apply different entries at one index. */
  onApply(id: string, e: Entry, at: number): void {
    const c = this.committed.get(e.index);
    const d = digest(e);
    if (c === undefined) {
      this.committed.set(e.index, { term: e.term, digest: d, at });
      return;
    }
    if (c.term !== e.term || c.digest !== d) {
      throw new SimViolation('state machine safety', `${id} applied index ${e.index} term ${e.term}; another node applied term ${c.term} there`);
    }
  }

  /**
   * Durability: every acknowledged write is on the disk of at least one member of every majority
   * of the voters (so any future leader, elected by some majority, must hold it).
   */
  checkDurability(disks: ReadonlyMap<string, Disk>, voters: readonly string[]): void {
    const quorum = voters.length - (Math.floor(voters.length / 2) + 1) + 1;
    for (const a of this.acked) {
      let holders = 0;
      for (const id of voters) {
        const d = disks.get(id);
        if (d !== undefined && diskHas(d, a.index, a.term)) holders++;
      }
      if (holders < quorum) {
        throw new SimViolation('durability', `acknowledged ${a.what} at ${a.index} (term ${a.term}) is on ${holders} voters' disks, needs ${quorum} of {${voters.join(',')}}`);
      }
      const c = this.committed.get(a.index);
      if (c !== undefined && c.term !== a.term) {
        throw new SimViolation('durability', `acknowledged ${a.what} at ${a.index} replaced by a term ${c.term} entry`);
      }
    }
  }

  /** At most one node may hold a valid lease at this instant of true time. */
  checkLeases(holders: readonly string[]): void {
    if (holders.length > 1) throw new SimViolation('single VIP lease', `${holders.join(' and ')} hold valid leases at once`);
  }
}
