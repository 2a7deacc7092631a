// A hand-driven cluster for transcript-style unit tests: the test decides every tick, delivery and
// partition, and reads back a transcript of what each node did (roles, commits, leases, reads).
import { MemoryStorage } from '../../cluster/raft/memory-storage.js';
import { RawNode } from '../../cluster/raft/raw-node.js';
import { DEFAULT_RAFT_CONFIG } from '../../cluster/raft/raft.js';
import type { Entry, HardState, Message, RaftConfig, RaftRole, ReadState, Snapshot } from '../../cluster/raft/types.js';
import { Prng } from './prng.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** What a node has fsynced: all that survives a crash. */
export interface Disk {
  hardState: HardState;
  snapshot: Snapshot | null;
  entries: Entry[];
}

export function restoreStorage(disk: Disk): MemoryStorage {
  return MemoryStorage.restore(disk);
}

/**
 * Persist one Ready. A snapshot in a Ready comes from the leader and replaces the whole log: any
 * entries we hold after it belong to a divergent history and must go too.
 */
export function persistReady(disk: Disk, hardState: HardState | null, snapshot: Snapshot | null, entries: readonly Entry[]): void {
  if (snapshot !== null && (disk.snapshot === null || snapshot.meta.index > disk.snapshot.meta.index)) {
    disk.snapshot = snapshot;
    disk.entries = [];
  }
  const first = entries[0];
  if (first !== undefined) {
    disk.entries = [...disk.entries.filter((e) => e.index < first.index), ...entries];
  }
  if (hardState !== null) disk.hardState = { ...hardState };
}

export interface ScriptedNode {
  id: string;
  raw: RawNode;
  disk: Disk;
  /** This node's clock, ms. */
  now: number;
  /** Commands applied to the state machine, in order. */
  applied: string[];
  appliedIndex: number;
  readStates: ReadState[];
  role: RaftRole;
  up: boolean;
}

export interface ScriptedOptions {
  config?: Partial<RaftConfig>;
  /** Members that start with empty storage (to be added later). */
  joining?: string[];
  seed?: number;
}

export class ScriptedCluster {
  readonly nodes = new Map<string, ScriptedNode>();
  private inflight: Message[] = [];
  private cuts = new Set<string>();
  private dropRules: ((m: Message) => boolean)[] = [];
  /** Every message delivered, in order (for counting round trips). */
  readonly delivered: Message[] = [];
  readonly transcript: string[] = [];
  private readonly prng: Prng;
  private readonly config: Partial<RaftConfig>;

  constructor(voters: string[], opts: ScriptedOptions = {}) {
    this.prng = new Prng(opts.seed ?? 1);
    this.config = opts.config ?? {};
    for (const id of voters) {
      const storage = MemoryStorage.bootstrap({ voters, learners: [] });
      const disk: Disk = { hardState: storage.initialState().hardState, snapshot: storage.snapshot(), entries: [] };
      this.addNode(id, disk, 0);
    }
    for (const id of opts.joining ?? []) {
      this.addNode(id, { hardState: { term: 0, vote: null, commit: 0 }, snapshot: null, entries: [] }, 0);
    }
  }

  private makeRaw(id: string, disk: Disk): RawNode {
    const rand = this.prng.fork();
    return new RawNode(
      {
        ...DEFAULT_RAFT_CONFIG,
        id,
        tickMs: 100,
        leaseMarginMs: 100,
        clock: () => this.node(id).now,
        random: () => rand.next(),
        ...this.config,
      },
      restoreStorage(disk),
    );
  }

  private addNode(id: string, disk: Disk, now: number): void {
    // The clock reads this.nodes, so the node must be registered before its RawNode is built.
    this.nodes.set(id, {
      id,
      raw: null as unknown as RawNode,
      disk,
      now,
      applied: [],
      appliedIndex: 0,
      readStates: [],
      role: 'follower',
      up: true,
    });
    this.node(id).raw = this.makeRaw(id, disk);
  }

  node(id: string): ScriptedNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  log(line: string): void {
    this.transcript.push(line);
  }

  /** Persist, send, apply, advance until the node has nothing left to do. */
  drain(n: ScriptedNode): void {
    for (let i = 0; i < 100 && n.up && n.raw.hasReady(); i++) {
      const rd = n.raw.ready();
      persistReady(n.disk, rd.hardState, rd.snapshot, rd.entries);
      if (rd.softState !== null && rd.softState.role !== n.role) {
        this.log(`${n.id} became ${rd.softState.role} at term ${rd.softState.term}`);
        n.role = rd.softState.role;
      }
      this.inflight.push(...rd.messages);
      if (rd.snapshot !== null) {
        n.applied = JSON.parse(dec.decode(rd.snapshot.data.length > 0 ? rd.snapshot.data : enc.encode('[]'))) as string[];
        n.appliedIndex = rd.snapshot.meta.index;
        this.log(`${n.id} installed snapshot at ${rd.snapshot.meta.index}`);
      }
      for (const e of rd.committedEntries) {
        if (e.type === 'normal' && e.data.length > 0) {
          const cmd = dec.decode(e.data);
          n.applied.push(cmd);
          this.log(`${n.id} applied ${e.index} "${cmd}"`);
        } else if (e.type === 'conf-change') {
          this.log(`${n.id} applied ${e.index} conf-change ${dec.decode(e.data)}`);
        }
        n.appliedIndex = e.index;
      }
      for (const r of rd.readStates) {
        n.readStates.push(r);
        this.log(`${n.id} read "${r.ctx}" at index ${r.index}`);
      }
      n.raw.advance();
    }
  }

  /** Advance every live node's clock by one tick and tick it. */
  tick(count = 1, only?: string[]): void {
    for (let i = 0; i < count; i++) {
      for (const n of this.nodes.values()) {
        if (only !== undefined && !only.includes(n.id)) continue;
        n.now += 100;
        if (!n.up) continue;
        n.raw.tick();
        this.drain(n);
      }
    }
  }

  /** Deliver every message in flight (and those they cause), dropping ones across cut links. */
  deliver(maxRounds = 200): void {
    for (let round = 0; round < maxRounds && this.inflight.length > 0; round++) {
      const batch = this.inflight;
      this.inflight = [];
      for (const m of batch) {
        const to = this.nodes.get(m.to);
        if (to === undefined || !to.up || this.cuts.has(`${m.from}>${m.to}`)) continue;
        if (this.dropRules.some((rule) => rule(m))) continue;
        this.delivered.push(m);
        to.raw.step(m);
        this.drain(to);
      }
    }
  }

  /** Tick and deliver in alternation, `count` times. */
  run(count: number, only?: string[]): void {
    for (let i = 0; i < count; i++) {
      this.tick(1, only);
      this.deliver();
    }
  }

  /** Messages in flight, for tests that inspect or drop them. */
  pending(): Message[] {
    return this.inflight;
  }

  dropPending(pred: (m: Message) => boolean): void {
    this.inflight = this.inflight.filter((m) => !pred(m));
  }

  /** Drop every message matching `rule` until clearDrops(). */
  dropIf(rule: (m: Message) => boolean): void {
    this.dropRules.push(rule);
  }

  clearDrops(): void {
    this.dropRules = [];
  }

  cut(a: string, b: string): void {
    this.cuts.add(`${a}>${b}`);
    this.cuts.add(`${b}>${a}`);
  }

  cutOneWay(from: string, to: string): void {
    this.cuts.add(`${from}>${to}`);
  }

  isolate(id: string): void {
    for (const other of this.nodes.keys()) if (other !== id) this.cut(id, other);
    this.log(`-- ${id} isolated`);
  }

  heal(): void {
    this.cuts.clear();
    this.log('-- network healed');
  }

  /** Lose everything not on disk; the node comes back with its clock where it was. */
  crash(id: string): void {
    const n = this.node(id);
    n.up = false;
    this.inflight = this.inflight.filter((m) => m.to !== id && m.from !== id);
    this.log(`-- ${id} crashed`);
  }

  restart(id: string): void {
    const n = this.node(id);
    n.raw = this.makeRaw(id, n.disk);
    n.up = true;
    n.role = 'follower';
    n.applied = [];
    n.appliedIndex = 0;
    this.log(`-- ${id} restarted`);
    this.drain(n);
  }

  propose(id: string, cmd: string): number {
    const n = this.node(id);
    const { index } = n.raw.propose(enc.encode(cmd));
    this.log(`${id} proposed "${cmd}" at ${index}`);
    this.drain(n);
    return index;
  }

  /** Snapshot the node's state machine at its applied index and compact its log (and disk). */
  compact(id: string, retain = 0): Snapshot {
    const n = this.node(id);
    const snap = n.raw.compact(n.appliedIndex, enc.encode(JSON.stringify(n.applied)), retain);
    // A local snapshot keeps the entries after it.
    n.disk.snapshot = snap;
    n.disk.entries = n.disk.entries.filter((e) => e.index > snap.meta.index);
    this.log(`${id} compacted its log at ${snap.meta.index}`);
    return snap;
  }

  leaders(): string[] {
    return [...this.nodes.values()].filter((n) => n.up && n.raw.status().role === 'leader').map((n) => n.id);
  }

  /** Tick until some live node leads (and no other does), bounded. */
  electLeader(maxTicks = 200): string {
    for (let i = 0; i < maxTicks; i++) {
      this.run(1);
      const l = this.leaders();
      if (l.length === 1 && (l[0] as string) !== '' && this.node(l[0] as string).raw.status().commit >= this.node(l[0] as string).raw.status().lastIndex) {
        return l[0] as string;
      }
    }
    throw new Error(`no leader after ${maxTicks} ticks:\n${this.transcript.slice(-30).join('\n')}`);
  }

  /** Move every clock forward without ticking (lets vote promises expire without timeouts firing). */
  advanceClocks(ms: number): void {
    for (const n of this.nodes.values()) n.now += ms;
  }

  /**
   * Make `id` time out and campaign: let every promise expire, then tick only `id` (delivering
   * messages) until it leads or `maxTicks` pass. Returns its role at the end.
   */
  campaign(id: string, maxTicks = 40): RaftRole {
    this.advanceClocks(1000);
    for (let i = 0; i < maxTicks; i++) {
      this.tick(1, [id]);
      this.deliver();
      if (this.node(id).raw.status().role === 'leader') break;
    }
    return this.node(id).raw.status().role;
  }

  /** Transcript lines matching a pattern, to assert the order of events. */
  events(pattern: RegExp): string[] {
    return this.transcript.filter((l) => pattern.test(l));
  }
}

/** Assert that each expected fragment occurs in the transcript, in this order; print the transcript if not. */
export function expectTranscript(c: ScriptedCluster, expected: readonly string[]): void {
  let at = 0;
  for (const want of expected) {
    let found = -1;
    for (let i = at; i < c.transcript.length; i++) {
      if ((c.transcript[i] as string).includes(want)) {
        found = i;
        break;
      }
    }
    if (found < 0) {
      throw new Error(`transcript lacks "${want}" after line ${at}:\n${c.transcript.map((l, i) => `${i}: ${l}`).join('\n')}`);
    }
    at = found + 1;
  }
}
