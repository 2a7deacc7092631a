// A deterministic discrete-event simulation of a Raft cluster: seeded network faults (drop, delay,
// reorder, duplicate, partitions), crashes that lose all but the disk, drifting clocks, clients
// writing and reading a key-value store, and the safety checks after every event.
import { RaftError } from '../../cluster/raft/errors.js';
import { MemoryStorage } from '../../cluster/raft/memory-storage.js';
import { DEFAULT_RAFT_CONFIG } from '../../cluster/raft/raft.js';
import { RawNode } from '../../cluster/raft/raw-node.js';
import type { Message, RaftConfig, RaftRole } from '../../cluster/raft/types.js';
import { EventQueue } from './event-queue.js';
import { SafetyChecker, SimViolation } from './invariants.js';
import { checkLinearizable, type KvOp } from './linearizability.js';
import { Prng } from './prng.js';
import { type Disk, persistReady, restoreStorage } from './scripted-cluster.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

export type FaultAction =
  | { at: number; kind: 'partition'; groups: string[][] }
  | { at: number; kind: 'cut'; from: string; to: string }
  | { at: number; kind: 'cut-pair'; a: string; b: string }
  | { at: number; kind: 'crash-leader'; restartAfter: number }
  | { at: number; kind: 'isolate-leader' }
  | { at: number; kind: 'conf'; change: 'remove' | 'add-learner' | 'promote'; node: string }
  | { at: number; kind: 'heal' }
  | { at: number; kind: 'crash'; node: string }
  | { at: number; kind: 'restart'; node: string }
  | { at: number; kind: 'drop-rate'; p: number }
  | { at: number; kind: 'transfer'; to: string };

export interface SimOptions {
  seed: number;
  /** Cluster size; default 3 to 5 chosen by the seed. */
  nodes?: number;
  /** Faults happen in [0, chaosMs); then everything heals. */
  chaosMs?: number;
  /** After healing, a leased leader must commit a client write within this many ms. */
  livenessBoundMs?: number;
  /** Replace the seed's fault plan (used when shrinking). */
  plan?: FaultAction[];
  /** Raft config overrides for every node. */
  raft?: Partial<RaftConfig>;
  /** Per-node overrides (e.g. one misconfigured node, to show the checker catches it). */
  raftFor?: Record<string, Partial<RaftConfig>>;
  /** Each clock runs at 1 ± this rate of true time. */
  clockDrift?: number;
  /** Fixed clock rates for some nodes, overriding the drift (e.g. one clock far out of bounds). */
  clockRates?: Record<string, number>;
  transcriptLines?: number;
}

export interface SimResult {
  seed: number;
  nodes: number;
  violation: { invariant: string; detail: string; at: number } | null;
  elections: number;
  commits: number;
  ops: number;
  linearizability: 'ok' | 'unknown' | 'fail' | 'skipped';
  plan: FaultAction[];
  transcript: string[];
}

type SimEvent =
  | { kind: 'tick'; node: string; gen: number; k: number }
  | { kind: 'deliver'; msg: Message }
  | { kind: 'ready'; node: string; gen: number }
  | { kind: 'fault'; action: FaultAction }
  | { kind: 'client'; client: number; seq: number }
  | { kind: 'heal-all' };

interface SimNode {
  id: string;
  gen: number;
  up: boolean;
  rate: number;
  offset: number;
  raw: RawNode | null;
  disk: Disk;
  kv: Map<string, string>;
  applied: number;
  sinceSnapshot: number;
  readyScheduled: boolean;
  role: RaftRole;
  leaseValid: boolean;
  /** Voters as this node last applied them, and the log index that membership is as of. */
  voters: string[];
  confAt: number;
  /** ReadStates whose index is not yet applied here. */
  waitingReads: { ctx: string; index: number }[];
}

interface ClientOp {
  op: KvOp;
  node: string;
  gen: number;
  /** Writes: the proposal's place in the log. */
  index: number;
  term: number;
  id: string;
  ctx: string;
}

interface Client {
  id: number;
  seq: number;
  leaderGuess: string | null;
  pending: ClientOp | null;
}

const TICK_MS = 10;
const KEYS = ['a', 'b', 'c'];
const OP_TIMEOUT_MS = 400;

function decodeKv(data: Uint8Array): Map<string, string> {
  if (data.length === 0) return new Map<string, string>();
  return new Map<string, string>(JSON.parse(dec.decode(data)) as [string, string][]);
}

export function generatePlan(seed: number, ids: readonly string[], chaosMs: number): FaultAction[] {
  const r = new Prng(seed ^ 0x5eed);
  const plan: FaultAction[] = [];
  const count = r.int(3, 16);
  for (let i = 0; i < count; i++) {
    const at = Math.floor(r.next() * chaosMs);
    const roll = r.next();
    if (roll < 0.2) {
      const shuffled = [...ids].sort(() => r.next() - 0.5);
      const cutAt = r.int(1, ids.length);
      plan.push({ at, kind: 'partition', groups: [shuffled.slice(0, cutAt).sort(), shuffled.slice(cutAt).sort()] });
    } else if (roll < 0.3) {
      const from = r.pick(ids);
      const to = r.pick(ids.filter((x) => x !== from));
      plan.push({ at, kind: 'cut', from, to });
    } else if (roll < 0.4) {
      // Two nodes that cannot talk while both still reach everyone else.
      const a = r.pick(ids);
      const b = r.pick(ids.filter((x) => x !== a));
      plan.push({ at, kind: 'cut-pair', a, b });
    } else if (roll < 0.45) {
      plan.push({ at, kind: 'heal' });
    } else if (roll < 0.5) {
      plan.push({ at, kind: 'isolate-leader' });
    } else if (roll < 0.6) {
      plan.push({ at, kind: 'crash-leader', restartAfter: r.int(5, 300) });
    } else if (roll < 0.7) {
      const node = r.pick(ids);
      plan.push({ at, kind: 'crash', node });
      plan.push({ at: Math.min(chaosMs - 1, at + r.int(20, 400)), kind: 'restart', node });
    } else if (roll < 0.8) {
      plan.push({ at, kind: 'drop-rate', p: r.pick([0, 0.02, 0.1, 0.3]) });
    } else if (roll < 0.88) {
      // Take a member out and bring it back one step at a time: remove, add as learner, promote.
      const node = r.pick(ids);
      const back = Math.min(chaosMs - 2, at + r.int(50, 600));
      plan.push({ at, kind: 'conf', change: 'remove', node });
      plan.push({ at: back, kind: 'conf', change: 'add-learner', node });
      plan.push({ at: Math.min(chaosMs - 1, back + r.int(20, 300)), kind: 'conf', change: 'promote', node });
    } else {
      plan.push({ at, kind: 'transfer', to: r.pick(ids) });
    }
  }
  return plan.sort((a, b) => a.at - b.at);
}

function describe(m: Message): string {
  switch (m.type) {
    case 'app':
      return `app prev=${m.index}/${m.logTerm} n=${m.entries.length} commit=${m.commit}`;
    case 'app-resp':
      return m.reject ? `app-resp REJECT ${m.index} hint=${m.rejectHint}/${m.logTerm}` : `app-resp ok ${m.index}`;
    case 'vote':
    case 'pre-vote':
      return `${m.type} last=${m.index}/${m.logTerm}${m.transfer ? ' transfer' : ''}`;
    case 'vote-resp':
    case 'pre-vote-resp':
      return `${m.type} ${m.reject ? 'REJECT' : 'granted'}`;
    case 'heartbeat':
      return `heartbeat round=${m.round} commit=${m.commit}`;
    case 'heartbeat-resp':
      return `heartbeat-resp round=${m.round}`;
    case 'snap':
      return `snap at ${m.snapshot.meta.index}/${m.snapshot.meta.term}`;
    case 'timeout-now':
      return 'timeout-now';
    case 'read-index':
      return `read-index ${m.ctx}`;
    case 'read-index-resp':
      return `read-index-resp ${m.ctx} at ${m.index}`;
    default: {
      const never: never = m;
      return never;
    }
  }
}

export class Simulation {
  readonly seed: number;
  readonly ids: string[];
  private readonly opts: Required<Omit<SimOptions, 'plan' | 'nodes'>>;
  readonly plan: FaultAction[];
  private readonly q = new EventQueue<SimEvent>();
  private readonly nodes = new Map<string, SimNode>();
  private readonly clients: Client[] = [];
  private readonly checker = new SafetyChecker();
  private readonly history: KvOp[] = [];
  private readonly net: Prng;
  private readonly clientRand: Prng;
  private readonly nodeRand: Prng;
  private now = 0;
  private cuts = new Set<string>();
  private dropRate = 0;
  private readonly transcript: string[] = [];
  private healed = false;
  private livenessMet = false;
  private leaseSinceHeal = false;
  private opSeq = 0;
  private readonly quiet: [number, number][] = [];

  constructor(options: SimOptions) {
    this.seed = options.seed;
    const r = new Prng(options.seed);
    // Always draw, so passing `nodes` explicitly does not shift the rest of the seed's stream.
    const drawn = r.int(3, 6);
    const n = options.nodes ?? drawn;
    this.ids = Array.from({ length: n }, (_, i) => `n${i + 1}`);
    this.opts = {
      seed: options.seed,
      chaosMs: options.chaosMs ?? 2000,
      livenessBoundMs: options.livenessBoundMs ?? 2500,
      clockDrift: options.clockDrift ?? 0.02,
      transcriptLines: options.transcriptLines ?? 60,
      raft: options.raft ?? {},
      raftFor: options.raftFor ?? {},
      clockRates: options.clockRates ?? {},
    };
    this.plan = options.plan ?? generatePlan(options.seed, this.ids, this.opts.chaosMs);
    this.net = r.fork();
    this.clientRand = r.fork();
    this.nodeRand = r.fork();
    const readOnly = r.chance(0.5) ? 'safe' : 'lease';
    for (const id of this.ids) {
      const boot = MemoryStorage.bootstrap({ voters: this.ids, learners: [] });
      const drawnRate = 1 + (r.next() * 2 - 1) * this.opts.clockDrift;
      const node: SimNode = {
        id,
        gen: 0,
        up: false,
        rate: this.opts.clockRates[id] ?? drawnRate,
        offset: Math.floor(r.next() * 1000),
        raw: null,
        disk: { hardState: boot.initialState().hardState, snapshot: boot.snapshot(), entries: [] },
        kv: new Map(),
        applied: 0,
        sinceSnapshot: 0,
        readyScheduled: false,
        role: 'follower',
        leaseValid: false,
        voters: [...this.ids],
        confAt: 1,
        waitingReads: [],
      };
      this.nodes.set(id, node);
      this.readOnly = readOnly;
      this.start(node);
    }
    for (const a of this.plan) this.q.push(a.at, { kind: 'fault', action: a });
    this.q.push(this.opts.chaosMs, { kind: 'heal-all' });
    for (let t = this.clientRand.int(0, 300); t < this.opts.chaosMs; ) {
      const len = this.clientRand.int(100, 400);
      this.quiet.push([t, t + len]);
      t += len + this.clientRand.int(100, 500);
    }
    for (let c = 0; c < 3; c++) {
      this.clients.push({ id: c, seq: 0, leaderGuess: null, pending: null });
      this.q.push(this.clientRand.int(50, 150), { kind: 'client', client: c, seq: 0 });
    }
  }

  private readOnly: 'safe' | 'lease' = 'safe';

  private log(line: string): void {
    this.transcript.push(`[${this.now.toFixed(1).padStart(7)}] ${line}`);
    if (this.transcript.length > 4 * this.opts.transcriptLines) this.transcript.splice(0, this.transcript.length - this.opts.transcriptLines);
  }

  private localTime(n: SimNode): number {
    return n.offset + n.rate * this.now;
  }

  private start(n: SimNode): void {
    n.gen++;
    n.up = true;
    const rand = this.nodeRand.fork();
    n.raw = new RawNode(
      {
        ...DEFAULT_RAFT_CONFIG,
        id: n.id,
        electionTick: 10,
        heartbeatTick: 2,
        tickMs: TICK_MS,
        maxClockDrift: 0.05,
        leaseMarginMs: TICK_MS,
        maxInflight: 8,
        maxEntriesPerMsg: 16,
        readOnly: this.readOnly,
        clock: () => this.localTime(n),
        random: () => rand.next(),
        ...this.opts.raft,
        ...this.opts.raftFor[n.id],
      },
      restoreStorage(n.disk),
    );
    // The state machine restarts from the snapshot on disk; the core re-delivers the rest.
    const snap = n.disk.snapshot;
    n.kv = snap !== null ? decodeKv(snap.data) : new Map<string, string>();
    n.applied = snap?.meta.index ?? 0;
    n.sinceSnapshot = 0;
    n.role = 'follower';
    n.voters = n.raw.status().conf.voters;
    n.confAt = snap?.meta.index ?? 0;
    n.waitingReads = [];
    n.readyScheduled = false;
    const k = Math.floor(this.localTime(n) / TICK_MS) + 1;
    this.q.push(this.tickTime(n, k), { kind: 'tick', node: n.id, gen: n.gen, k });
  }

  private tickTime(n: SimNode, k: number): number {
    return Math.max(this.now, (k * TICK_MS - n.offset) / n.rate);
  }

  private crash(n: SimNode): void {
    if (!n.up) return;
    n.up = false;
    n.raw = null;
    n.gen++;
    this.log(`${n.id} CRASHED (keeps only its disk: term ${n.disk.hardState.term}, ${n.disk.entries.length} entries)`);
    this.checkDurability();
  }

  /**
   * Against the newest membership any node has applied. Older ones cannot elect a leader any more:
   * each change was committed by a majority of the membership before it, and those nodes will not
   * vote for a candidate whose log lacks it (so a removed node's stale view does not count).
   */
  private checkDurability(): void {
    let newest: SimNode | null = null;
    for (const n of this.nodes.values()) if (newest === null || n.confAt > newest.confAt) newest = n;
    if (newest !== null) this.checker.checkDurability(this.diskMap(), newest.voters);
  }

  private diskMap(): Map<string, Disk> {
    return new Map([...this.nodes].map(([id, n]) => [id, n.disk]));
  }

  /** After the core did something: note role changes at once, and schedule Ready processing. */
  private afterInput(n: SimNode): void {
    const raw = n.raw;
    if (raw === null) return;
    const soft = raw.softState();
    if (soft.role !== n.role) {
      this.log(`${n.id} ${n.role} -> ${soft.role} (term ${soft.term})`);
      n.role = soft.role;
      if (soft.role === 'leader') this.checker.onLeader(n.id, soft.term, n.disk, this.now);
    }
    if (!n.readyScheduled && raw.hasReady()) {
      n.readyScheduled = true;
      // fsync latency: inputs arriving meanwhile are batched into one Ready.
      this.q.push(this.now + 0.2 + this.net.next() * 2, { kind: 'ready', node: n.id, gen: n.gen });
    }
  }

  private processReady(n: SimNode): void {
    n.readyScheduled = false;
    const raw = n.raw;
    if (raw === null || !raw.hasReady()) return;
    const rd = raw.ready();
    persistReady(n.disk, rd.hardState, rd.snapshot, rd.entries);
    this.checker.onPersist(n.id, n.disk, rd.entries);
    if (!this.healed && this.net.chance(0.0005)) {
      this.log(`${n.id} crashes after fsync, before sending ${rd.messages.length} messages`);
      this.crash(n);
      const back = Math.min(this.opts.chaosMs - 1, this.now + 20 + this.net.next() * 200);
      this.q.push(back, { kind: 'fault', action: { at: back, kind: 'restart', node: n.id } });
      return;
    }
    for (const m of rd.messages) this.send(m);
    if (rd.snapshot !== null) {
      const s = rd.snapshot;
      n.kv = decodeKv(s.data);
      n.applied = s.meta.index;
      this.log(`${n.id} installed snapshot ${s.meta.index}/${s.meta.term}`);
    }
    for (const e of rd.committedEntries) {
      this.checker.onApply(n.id, e, this.now);
      if (e.type === 'normal' && e.data.length > 0) {
        const cmd = JSON.parse(dec.decode(e.data)) as { id: string; k: string; v: string };
        n.kv.set(cmd.k, cmd.v);
        this.resolveWrite(n, e.index, e.term, cmd.id);
      } else {
        this.resolveWrite(n, e.index, e.term, null);
      }
      n.applied = e.index;
      n.sinceSnapshot++;
    }
    if (rd.confState !== null) {
      n.voters = [...rd.confState.voters];
      let at = rd.snapshot?.meta.index ?? 0;
      for (const e of rd.committedEntries) if (e.type === 'conf-change') at = e.index;
      n.confAt = at;
      this.log(`${n.id} membership now voters {${rd.confState.voters.join(',')}} learners {${rd.confState.learners.join(',')}}`);
    }
    for (const rs of rd.readStates) n.waitingReads.push(rs);
    raw.advance();
    this.serveReads(n);
    if (n.sinceSnapshot >= 40) {
      const snap = raw.compact(n.applied, enc.encode(JSON.stringify([...n.kv])), 10);
      n.disk.snapshot = snap;
      n.disk.entries = n.disk.entries.filter((e) => e.index > snap.meta.index);
      n.sinceSnapshot = 0;
      this.log(`${n.id} compacted at ${snap.meta.index}`);
    }
    this.afterInput(n);
  }

  private send(m: Message): void {
    if (this.net.chance(this.dropRate)) return;
    const copies = this.net.chance(0.02) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const slow = this.net.chance(0.05);
      const delay = slow ? 20 + this.net.next() * 80 : 0.5 + this.net.next() * 6;
      this.q.push(this.now + delay, { kind: 'deliver', msg: m });
    }
  }

  private deliver(m: Message): void {
    const n = this.nodes.get(m.to);
    if (n === undefined || !n.up || n.raw === null) return;
    if (this.cuts.has(`${m.from}>${m.to}`)) return;
    if (m.type !== 'heartbeat' && m.type !== 'heartbeat-resp') this.log(`${m.from}->${m.to} t${m.term} ${describe(m)}`);
    n.raw.step(m);
    this.afterInput(n);
  }

  // ---- clients ----

  private upNodes(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.up);
  }

  private clientStep(c: Client): void {
    if (c.pending !== null) {
      this.timeoutOp(c);
      return;
    }
    if (this.now > this.opts.chaosMs + this.opts.livenessBoundMs) return;
    const up = this.upNodes();
    if (up.length === 0) {
      this.q.push(this.now + 20, { kind: 'client', client: c.id, seq: c.seq });
      return;
    }
    const guess = c.leaderGuess === null ? undefined : this.nodes.get(c.leaderGuess);
    const n = guess !== undefined && guess.up && this.clientRand.chance(0.9) ? guess : this.clientRand.pick(up);
    const raw = n.raw as RawNode;
    const key = this.clientRand.pick(KEYS);
    const isWrite = !this.inQuietWindow() && this.clientRand.chance(0.6);
    const id = `c${c.id}.${++this.opSeq}`;
    try {
      if (isWrite) {
        const value = id;
        const { index, term } = raw.propose(enc.encode(JSON.stringify({ id, k: key, v: value })));
        const op: KvOp = { client: c.id, key, kind: 'write', value, invoke: this.now, response: Infinity };
        c.pending = { op, node: n.id, gen: n.gen, index, term, id, ctx: '' };
        this.log(`client ${c.id} write ${key}=${value} via ${n.id} -> index ${index} term ${term}`);
      } else {
        raw.readIndex(id);
        const op: KvOp = { client: c.id, key, kind: 'read', value: null, invoke: this.now, response: Infinity };
        c.pending = { op, node: n.id, gen: n.gen, index: 0, term: 0, id, ctx: id };
        this.log(`client ${c.id} read ${key} via ${n.id} (${id})`);
      }
      this.afterInput(n);
      c.seq++;
      this.q.push(this.now + OP_TIMEOUT_MS, { kind: 'client', client: c.id, seq: c.seq });
    } catch (e) {
      if (!(e instanceof RaftError)) throw e;
      c.leaderGuess = e.leader;
      this.q.push(this.now + 2 + this.clientRand.next() * 5, { kind: 'client', client: c.id, seq: c.seq });
    }
  }

  /** Writes pause in some windows of the chaos phase: an idle log is where lease bugs show. */
  private inQuietWindow(): boolean {
    if (this.healed) return false;
    return this.quiet.some(([from, to]) => this.now >= from && this.now < to);
  }

  private finishOp(c: Client, outcome: 'ok' | 'info' | 'fail'): void {
    const p = c.pending;
    if (p === null) return;
    c.pending = null;
    if (outcome === 'ok') {
      p.op.response = this.now;
      this.history.push(p.op);
      c.leaderGuess = p.node;
    } else if (outcome === 'info' && p.op.kind === 'write') {
      this.history.push(p.op);
    }
    c.seq++;
    const think = 1 + this.clientRand.next() * 20;
    this.q.push(this.now + think, { kind: 'client', client: c.id, seq: c.seq });
  }

  private timeoutOp(c: Client): void {
    const p = c.pending;
    if (p === null) return;
    this.log(`client ${c.id} ${p.op.kind} ${p.id} timed out (outcome unknown)`);
    c.leaderGuess = null;
    this.finishOp(c, 'info');
  }

  private resolveWrite(n: SimNode, index: number, term: number, id: string | null): void {
    for (const c of this.clients) {
      const p = c.pending;
      if (p === null || p.op.kind !== 'write' || p.node !== n.id || p.gen !== n.gen || p.index !== index) continue;
      if (p.term === term && p.id === id) {
        this.checker.acked.push({ index, term, what: `write ${p.op.key}=${p.op.value}` });
        this.log(`client ${c.id} write ${p.id} OK at ${index}`);
        if (this.healed && p.op.invoke >= this.opts.chaosMs) this.livenessMet = true;
        this.finishOp(c, 'ok');
      } else {
        // Another entry took this index: the proposal was cut from the log and can never commit.
        this.log(`client ${c.id} write ${p.id} lost (index ${index} holds another entry)`);
        this.finishOp(c, 'fail');
      }
    }
  }

  private serveReads(n: SimNode): void {
    const still: { ctx: string; index: number }[] = [];
    for (const rs of n.waitingReads) {
      if (rs.index > n.applied) {
        still.push(rs);
        continue;
      }
      for (const c of this.clients) {
        const p = c.pending;
        if (p === null || p.op.kind !== 'read' || p.ctx !== rs.ctx || p.node !== n.id || p.gen !== n.gen) continue;
        p.op.value = n.kv.get(p.op.key) ?? null;
        this.log(`client ${c.id} read ${p.op.key} = ${p.op.value ?? '(none)'} at ${rs.index} via ${n.id}`);
        this.finishOp(c, 'ok');
      }
    }
    n.waitingReads = still;
  }

  // ---- faults ----

  private applyFault(a: FaultAction): void {
    switch (a.kind) {
      case 'partition':
        this.cuts.clear();
        for (const x of a.groups[0] ?? []) for (const y of a.groups[1] ?? []) {
          this.cuts.add(`${x}>${y}`);
          this.cuts.add(`${y}>${x}`);
        }
        this.log(`== partition ${a.groups.map((g) => `{${g.join(',')}}`).join(' | ')}`);
        return;
      case 'cut':
        this.cuts.add(`${a.from}>${a.to}`);
        this.log(`== one-way cut ${a.from} -> ${a.to}`);
        return;
      case 'cut-pair':
        this.cuts.add(`${a.a}>${a.b}`);
        this.cuts.add(`${a.b}>${a.a}`);
        this.log(`== cut between ${a.a} and ${a.b}`);
        return;
      case 'crash-leader':
        for (const n of this.upNodes()) {
          if (n.role !== 'leader') continue;
          this.crash(n);
          this.q.push(Math.min(this.opts.chaosMs - 1, this.now + a.restartAfter), { kind: 'fault', action: { at: 0, kind: 'restart', node: n.id } });
        }
        return;
      case 'conf':
        for (const n of this.upNodes()) {
          if (n.role !== 'leader' || n.raw === null) continue;
          const voters = n.raw.status().conf.voters;
          // Keep at least two voters, so the cluster is never trivially a single node.
          if (a.change === 'remove' && voters.length <= 2 && voters.includes(a.node)) continue;
          try {
            n.raw.proposeConfChange({ type: a.change === 'remove' ? 'remove' : a.change === 'promote' ? 'add-voter' : 'add-learner', node: a.node });
            this.log(`== ${n.id} proposes ${a.change} ${a.node}`);
          } catch (e) {
            if (!(e instanceof RaftError)) throw e;
            this.log(`== ${n.id} cannot ${a.change} ${a.node}: ${e.code}`);
          }
          this.afterInput(n);
        }
        return;
      case 'isolate-leader':
        for (const n of this.upNodes()) {
          if (n.role !== 'leader') continue;
          for (const other of this.ids) {
            if (other === n.id) continue;
            this.cuts.add(`${n.id}>${other}`);
            this.cuts.add(`${other}>${n.id}`);
          }
          this.log(`== leader ${n.id} isolated`);
        }
        return;
      case 'heal':
        this.cuts.clear();
        this.log('== network healed');
        return;
      case 'crash': {
        const n = this.nodes.get(a.node);
        if (n !== undefined) this.crash(n);
        return;
      }
      case 'restart': {
        const n = this.nodes.get(a.node);
        if (n !== undefined && !n.up) {
          this.start(n);
          this.log(`${n.id} RESTARTED at term ${n.disk.hardState.term}`);
        }
        return;
      }
      case 'drop-rate':
        this.dropRate = a.p;
        this.log(`== drop rate ${a.p}`);
        return;
      case 'transfer':
        for (const n of this.upNodes()) {
          if (n.role !== 'leader' || n.raw === null || n.id === a.to) continue;
          try {
            n.raw.transferLeadership(a.to);
            this.log(`== ${n.id} transfers leadership to ${a.to}`);
          } catch (e) {
            if (!(e instanceof RaftError)) throw e;
          }
          this.afterInput(n);
        }
        return;
      default: {
        const never: never = a;
        return never;
      }
    }
  }

  private healAll(): void {
    this.healed = true;
    this.cuts.clear();
    this.dropRate = 0;
    this.log('== HEAL: network whole, no drops, every node up; liveness clock starts');
    for (const n of this.nodes.values()) {
      if (!n.up) {
        this.start(n);
        this.log(`${n.id} RESTARTED at term ${n.disk.hardState.term}`);
      }
    }
  }

  private checkLeases(): void {
    const holders: string[] = [];
    for (const n of this.nodes.values()) {
      const valid = n.raw !== null && n.raw.lease().valid;
      if (valid) holders.push(n.id);
      if (valid !== n.leaseValid) {
        n.leaseValid = valid;
        this.log(`${n.id} ${valid ? 'GAINS' : 'loses'} the VIP lease${valid ? ` (until local ${(n.raw as RawNode).lease().validUntil.toFixed(1)}, now local ${this.localTime(n).toFixed(1)})` : ''}`);
      }
    }
    this.checker.checkLeases(holders);
    if (this.healed && holders.length === 1) this.leaseSinceHeal = true;
  }

  run(): SimResult {
    const end = this.opts.chaosMs + this.opts.livenessBoundMs;
    let violation: SimResult['violation'] = null;
    let lin: SimResult['linearizability'] = 'skipped';
    try {
      for (;;) {
        const next = this.q.pop();
        if (next === undefined || next.at > end) break;
        this.now = next.at;
        const ev = next.ev;
        switch (ev.kind) {
          case 'tick': {
            const n = this.nodes.get(ev.node);
            if (n === undefined || n.gen !== ev.gen || n.raw === null) break;
            n.raw.tick();
            this.afterInput(n);
            this.q.push(this.tickTime(n, ev.k + 1), { kind: 'tick', node: n.id, gen: n.gen, k: ev.k + 1 });
            break;
          }
          case 'deliver':
            this.deliver(ev.msg);
            break;
          case 'ready': {
            const n = this.nodes.get(ev.node);
            if (n !== undefined && n.gen === ev.gen) this.processReady(n);
            break;
          }
          case 'fault':
            this.applyFault(ev.action);
            break;
          case 'client': {
            const c = this.clients[ev.client];
            if (c !== undefined && c.seq === ev.seq) this.clientStep(c);
            break;
          }
          case 'heal-all':
            this.healAll();
            break;
          default: {
            const never: never = ev;
            throw new Error(`unknown event ${JSON.stringify(never)}`);
          }
        }
        this.checkLeases();
        if (this.livenessMet && this.leaseSinceHeal && this.now > this.opts.chaosMs + 300) break;
      }
      if (!this.livenessMet || !this.leaseSinceHeal) {
        throw new SimViolation(
          'liveness',
          `${this.opts.livenessBoundMs} ms after healing: ${this.livenessMet ? '' : 'no client write committed; '}${this.leaseSinceHeal ? '' : 'no leader held a valid lease'}`,
        );
      }
      this.checkDurability();
      // Writes still in flight may or may not have happened.
      for (const c of this.clients) if (c.pending !== null && c.pending.op.kind === 'write') this.history.push(c.pending.op);
      const r = checkLinearizable(this.history);
      lin = r.ok === true ? 'ok' : r.ok === 'unknown' ? 'unknown' : 'fail';
      if (r.ok === false) throw new SimViolation('linearizability', r.reason);
    } catch (e) {
      if (!(e instanceof SimViolation)) {
        violation = { invariant: 'crash', detail: e instanceof Error ? (e.stack ?? e.message) : String(e), at: this.now };
      } else {
        violation = { invariant: e.invariant, detail: e.detail, at: this.now };
      }
    }
    return {
      seed: this.seed,
      nodes: this.ids.length,
      violation,
      elections: this.checker.elections,
      commits: this.checker.acked.length,
      ops: this.history.length,
      linearizability: lin,
      plan: this.plan,
      transcript: this.transcript.slice(-this.opts.transcriptLines),
    };
  }
}

export function runSeed(options: SimOptions): SimResult {
  return new Simulation(options).run();
}

export function formatFailure(r: SimResult): string {
  const v = r.violation;
  if (v === null) return `seed ${r.seed}: ok`;
  return [
    `seed ${r.seed} (${r.nodes} nodes): VIOLATION of ${v.invariant} at t=${v.at.toFixed(1)} ms`,
    `  ${v.detail}`,
    `  fault plan: ${r.plan.map((a) => JSON.stringify(a)).join(' ')}`,
    `  last events:`,
    ...r.transcript.map((l) => `    ${l}`),
    `  replay: npm run sim -- --seeds 1 --from ${r.seed}`,
  ].join('\n');
}
