// The Raft state machine itself (etcd's raft.go): terms, votes, roles as swapped step functions,
// replication, commitment, read index, leadership transfer, membership and the leader lease.
//
// Time. Election and heartbeat timing count tick() calls, as etcd does. The lease and the vote
// promise that protects it are measured on the injected clock (milliseconds of this node's own
// monotonic clock), because a leader whose process stalls must see its lease run out even though
// no tick arrived:
//   - A follower that hears from the leader of its term (app, heartbeat, snap) promises not to vote
//     (nor pre-vote) for anyone else until electionTick * tickMs of its clock have passed. A node that
//     starts (restart) makes the same promise from its start time, since it may have made one before.
//   - The leader numbers its heartbeat rounds and stamps each with its clock at send time. When a
//     quorum (itself included) has acknowledged round r, the lease runs until
//       sentAt(r) + electionTick * tickMs * (1 - maxClockDrift) - leaseMarginMs.
//     Every member of that quorum received round r after it was sent and will not vote for another
//     node for electionTick * tickMs of its own clock; maxClockDrift bounds how much faster its clock
//     can run than ours, so no other leader can be elected before our lease ends.
//   - Leadership transfer: the leader forfeits its lease for the rest of its term before it sends
//     timeout-now. A vote request marked `transfer` may break a promise made in an older term than the
//     candidate's (the transferring leader's term or before), never one made to a later leader.
import { applyConfChange, confChangeProblem, decodeConfChange, encodeConfChange } from './conf-change.js';
import { RaftError } from './errors.js';
import type { MemoryStorage } from './memory-storage.js';
import { HeartbeatRounds } from './heartbeat-rounds.js';
import { Progress } from './progress.js';
import { majorityValue, quorumSize, voteResult } from './quorum.js';
import { RaftLog } from './raft-log.js';
import { type StepFn, stepCandidate, stepFollower, stepLeader } from './roles.js';
import type {
  AppendMessage,
  AppendResponseMessage,
  ConfChange,
  ConfState,
  Entry,
  HardState,
  HeartbeatMessage,
  LeaseState,
  Message,
  NodeId,
  RaftConfig,
  RaftRole,
  ReadState,
  SnapshotMessage,
  SoftState,
  VoteMessage,
} from './types.js';

/** The defaults etcd uses, scaled for a tick of tickMs. */
export const DEFAULT_RAFT_CONFIG = {
  electionTick: 10,
  heartbeatTick: 1,
  maxClockDrift: 0.1,
  maxInflight: 64,
  maxEntriesPerMsg: 64,
  maxUncommittedEntries: 4096,
  readOnly: 'safe',
  preVote: true,
  checkQuorum: true,
} as const satisfies Partial<RaftConfig>;

function validateConfig(c: RaftConfig): void {
  const bad = (why: string): never => {
    throw new RaftError('RAFT_ERR_INVALID_CONFIG', why);
  };
  if (c.id === '') bad('id must not be empty');
  if (!(c.heartbeatTick >= 1)) bad('heartbeatTick must be >= 1');
  if (!(c.electionTick > c.heartbeatTick)) bad('electionTick must be greater than heartbeatTick');
  if (c.electionJitterTick !== undefined && !(Number.isInteger(c.electionJitterTick) && c.electionJitterTick >= 1)) {
    bad('electionJitterTick must be an integer >= 1');
  }
  if (!(c.tickMs > 0)) bad('tickMs must be > 0');
  if (!(c.maxClockDrift >= 0 && c.maxClockDrift < 1)) bad('maxClockDrift must be in [0, 1)');
  if (!(c.leaseMarginMs >= 0)) bad('leaseMarginMs must be >= 0');
  if (!(c.maxInflight >= 1)) bad('maxInflight must be >= 1');
  if (!(c.maxEntriesPerMsg >= 1)) bad('maxEntriesPerMsg must be >= 1');
}

export class Raft {
  readonly id: NodeId;
  readonly cfg: RaftConfig;
  readonly log: RaftLog;

  term = 0;
  vote: NodeId | null = null;
  lead: NodeId | null = null;
  role: RaftRole = 'follower';
  conf: ConfState;
  /** Membership as of each applied index, for snapshots taken at an older applied index. */
  private confHistory: { index: number; conf: ConfState }[];

  progress = new Map<NodeId, Progress>();
  private votes = new Map<NodeId, boolean>();
  msgs: Message[] = [];
  readStates: ReadState[] = [];

  electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  /** Ticks since this node started; times snapshot retries. */
  private tickCount = 0;

  leadTransferee: NodeId | null = null;
  private timeoutNowSent = false;
  private pendingConfIndex = 0;

  private readsAwaitingCommit: { ctx: string; from: NodeId }[] = [];
  /** Leader lease and read confirmation (see the header comment). */
  private readonly rounds: HeartbeatRounds;

  // Vote promise of a follower to the leader it last heard from.
  private lastContactAt: number;
  private promiseTerm: number;

  private stepFn: StepFn = stepFollower;
  private tickFn: () => void = () => this.tickElection();

  constructor(cfg: RaftConfig, storage: MemoryStorage) {
    validateConfig(cfg);
    this.cfg = cfg;
    this.id = cfg.id;
    this.log = new RaftLog(storage);
    this.rounds = new HeartbeatRounds(cfg.electionTick * cfg.tickMs * (1 - cfg.maxClockDrift) - cfg.leaseMarginMs);
    const { hardState, confState } = storage.initialState();
    this.conf = { voters: [...confState.voters].sort(), learners: [...confState.learners].sort() };
    this.confHistory = [{ index: storage.firstIndex() - 1, conf: this.conf }];
    if (hardState.commit > 0) this.log.commitTo(Math.min(hardState.commit, this.log.lastIndex()));
    this.becomeFollower(hardState.term, null);
    this.vote = hardState.vote;
    // A restarted node may have promised its vote away before it crashed: keep that promise.
    this.lastContactAt = cfg.clock();
    this.promiseTerm = hardState.term;
  }

  private get electionTimeoutMs(): number {
    return this.cfg.electionTick * this.cfg.tickMs;
  }

  softState(): SoftState {
    return { role: this.role, leader: this.lead, term: this.term };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  lease(): LeaseState {
    if (this.role !== 'leader') return { valid: false, validUntil: 0 };
    return this.rounds.lease(this.cfg.clock());
  }

  private promotable(): boolean {
    return this.conf.voters.includes(this.id);
  }

  send(m: Message): void {
    this.msgs.push(m);
  }

  // ---- role changes ----

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = null;
    }
    this.lead = null;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizeElectionTimeout();
    this.leadTransferee = null;
    this.timeoutNowSent = false;
    this.votes.clear();
    this.resetProgress();
    this.pendingConfIndex = 0;
    this.readsAwaitingCommit = [];
    this.rounds.reset();
  }

  private resetProgress(): void {
    this.progress.clear();
    const last = this.log.lastIndex();
    for (const id of this.conf.voters) this.progress.set(id, new Progress(last + 1, this.cfg.maxInflight, false));
    for (const id of this.conf.learners) this.progress.set(id, new Progress(last + 1, this.cfg.maxInflight, true));
    const self = this.progress.get(this.id);
    if (self !== undefined) self.match = last;
  }

  becomeFollower(term: number, lead: NodeId | null): void {
    this.stepFn = stepFollower;
    this.reset(term);
    this.tickFn = () => this.tickElection();
    this.lead = lead;
    this.role = 'follower';
  }

  private becomePreCandidate(): void {
    // The term does not change; forgetting the leader stops our own vote promise from blocking the
    // others' pre-votes once it expired (etcd #9586).
    this.stepFn = stepCandidate;
    this.votes.clear();
    this.tickFn = () => this.tickElection();
    this.lead = null;
    this.role = 'pre-candidate';
    this.randomizeElectionTimeout();
  }

  private randomizeElectionTimeout(): void {
    const spread = this.cfg.electionJitterTick ?? this.cfg.electionTick;
    this.randomizedElectionTimeout = this.cfg.electionTick + Math.floor(this.cfg.random() * spread);
  }

  private becomeCandidate(): void {
    this.stepFn = stepCandidate;
    this.reset(this.term + 1);
    this.tickFn = () => this.tickElection();
    this.vote = this.id;
    this.role = 'candidate';
  }

  private becomeLeader(): void {
    this.stepFn = stepLeader;
    this.reset(this.term);
    this.tickFn = () => this.tickHeartbeat();
    this.lead = this.id;
    this.role = 'leader';
    const self = this.progress.get(this.id);
    if (self !== undefined) self.becomeReplicate();
    // Nothing may change membership until an entry of this term is committed (see proposeConfChange).
    this.pendingConfIndex = this.log.lastIndex();
    this.appendEntries([{ term: this.term, index: 0, type: 'normal', data: new Uint8Array() }]);
    this.bcastAppend();
    this.bcastHeartbeat();
  }

  // ---- ticks ----

  tick(): void {
    this.tickCount++;
    this.tickFn();
  }

  private inOwnPromise(): boolean {
    return this.cfg.clock() - this.lastContactAt < this.electionTimeoutMs;
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout && !this.inOwnPromise()) {
      this.electionElapsed = 0;
      this.hup(false);
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.cfg.electionTick) {
      this.electionElapsed = 0;
      if (this.cfg.checkQuorum) {
        if (!this.quorumActive()) {
          this.becomeFollower(this.term, null);
          return;
        }
        for (const [id, pr] of this.progress) if (id !== this.id) pr.recentActive = false;
      }
      // The transfer did not finish within an election timeout.
      if (this.leadTransferee !== null && this.abortLeaderTransfer()) return;
    }
    for (const [id, pr] of this.progress) {
      if (pr.state === 'snapshot' && this.tickCount - pr.snapshotSentAtTick >= this.cfg.electionTick) {
        pr.becomeProbe();
        this.sendAppend(id);
      }
    }
    if (this.heartbeatElapsed >= this.cfg.heartbeatTick) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat();
    }
  }

  private quorumActive(): boolean {
    let active = 0;
    for (const id of this.conf.voters) {
      if (id === this.id || this.progress.get(id)?.recentActive === true) active++;
    }
    return active >= quorumSize(this.conf.voters.length);
  }

  // ---- elections ----

  private hasUnappliedConfChange(): boolean {
    if (this.log.committed <= this.log.applied) return false;
    const lo = Math.max(this.log.applied + 1, this.log.firstIndex());
    return this.log.slice(lo, this.log.committed + 1).some((e) => e.type === 'conf-change');
  }

  /** Start an election (pre-vote first, unless this is a leadership transfer). */
  hup(transfer: boolean): void {
    if (this.role === 'leader' || !this.promotable() || this.hasUnappliedConfChange()) return;
    if (this.cfg.preVote && !transfer) this.campaign('pre');
    else this.campaign(transfer ? 'transfer' : 'real');
  }

  private campaign(kind: 'pre' | 'real' | 'transfer'): void {
    let term: number;
    let type: 'vote' | 'pre-vote';
    if (kind === 'pre') {
      this.becomePreCandidate();
      term = this.term + 1;
      type = 'pre-vote';
    } else {
      this.becomeCandidate();
      term = this.term;
      type = 'vote';
    }
    if (this.poll(this.id, true) === 'won') {
      if (kind === 'pre') this.campaign('real');
      else this.becomeLeader();
      return;
    }
    const index = this.log.lastIndex();
    const logTerm = this.log.lastTerm();
    for (const to of this.conf.voters) {
      if (to === this.id) continue;
      this.send({ type, from: this.id, to, term, index, logTerm, transfer: kind === 'transfer' });
    }
  }

  /** A pre-vote quorum said we could win: run the real election. */
  hupAfterPreVote(): void {
    this.campaign('real');
  }

  winElection(): void {
    this.becomeLeader();
  }

  poll(from: NodeId, granted: boolean): 'won' | 'lost' | 'pending' {
    if (!this.votes.has(from)) this.votes.set(from, granted);
    return voteResult(this.conf.voters, this.votes);
  }

  /**
   * Whether a vote request must be refused because of a promise to a leader (the lease). A
   * transfer vote may break promises made in terms up to the transferring leader's, whose lease
   * that leader forfeited before sending timeout-now.
   */
  private promiseBlocks(m: VoteMessage): boolean {
    if (m.term === this.term && this.vote === m.from) return false;
    if (m.type === 'vote' && m.transfer && m.term - 1 >= this.promiseTerm) return false;
    if (this.role === 'leader') return true;
    return this.inOwnPromise();
  }

  private handleVote(m: VoteMessage): void {
    const respType = m.type === 'vote' ? 'vote-resp' : 'pre-vote-resp';
    const canVote =
      this.vote === m.from ||
      (this.vote === null && this.lead === null) ||
      (m.type === 'pre-vote' && m.term > this.term);
    if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
      // A granted pre-vote answers in the future term the candidate asked about.
      this.send({ type: respType, from: this.id, to: m.from, term: m.term, reject: false });
      if (m.type === 'vote') {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send({ type: respType, from: this.id, to: m.from, term: this.term, reject: true });
    }
  }

  // ---- the entry point for messages from peers ----

  step(m: Message): void {
    if (m.to !== this.id) return;
    if ((m.type === 'vote' || m.type === 'pre-vote') && m.term >= this.term && this.promiseBlocks(m)) {
      // Within a leader's lease: ignore without changing term (etcd's inLease check).
      return;
    }
    if (m.term > this.term) {
      if (m.type === 'pre-vote') {
        // Never change term for a pre-vote.
      } else if (m.type === 'pre-vote-resp' && !m.reject) {
        // A granted pre-vote carries the term we asked about; we bump it only on winning.
      } else if (m.type === 'app' || m.type === 'heartbeat' || m.type === 'snap') {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, null);
      }
    } else if (m.term < this.term) {
      if ((this.cfg.checkQuorum || this.cfg.preVote) && (m.type === 'heartbeat' || m.type === 'app')) {
        // A leader of an older term: tell it our term so it steps down. Without this, a node whose
        // term rose while partitioned could never rejoin, since pre-vote and check-quorum stop it
        // from disrupting the majority with a vote request (etcd #8334).
        this.send({ type: 'app-resp', from: this.id, to: m.from, term: this.term, index: 0, reject: false, rejectHint: 0, logTerm: 0 });
      } else if (m.type === 'pre-vote') {
        // Answer rather than drop, or a pre-candidate with a longer log but older term could wait forever.
        this.send({ type: 'pre-vote-resp', from: this.id, to: m.from, term: this.term, reject: true });
      }
      return;
    }
    if (m.type === 'vote' || m.type === 'pre-vote') {
      this.handleVote(m);
      return;
    }
    this.stepFn(this, m);
  }

  // ---- follower side of replication ----

  /** A message from the leader of our term: reset the election timer and renew the vote promise. */
  heardFromLeader(m: Message): void {
    this.electionElapsed = 0;
    this.lead = m.from;
    this.lastContactAt = this.cfg.clock();
    this.promiseTerm = m.term;
  }

  handleAppend(m: AppendMessage): void {
    if (m.index < this.log.committed) {
      this.sendAppResp(m.from, this.log.committed, false, 0, 0);
      return;
    }
    const last = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (last !== null) {
      this.sendAppResp(m.from, last, false, 0, 0);
      return;
    }
    // Point the leader at the last index whose term is <= its prev term, skipping our whole
    // conflicting term (and our missing tail) in one round trip.
    const hint = this.log.findConflictByTerm(Math.min(m.index, this.log.lastIndex()), m.logTerm);
    this.sendAppResp(m.from, m.index, true, hint, this.log.term(hint) ?? 0);
  }

  handleHeartbeat(m: HeartbeatMessage): void {
    this.log.commitTo(Math.min(m.commit, this.log.lastIndex()));
    this.send({ type: 'heartbeat-resp', from: this.id, to: m.from, term: this.term, round: m.round });
  }

  handleSnapshot(m: SnapshotMessage): void {
    const snap = m.snapshot;
    if (snap.meta.index <= this.log.committed) {
      this.sendAppResp(m.from, this.log.committed, false, 0, 0);
      return;
    }
    if (this.log.matchTerm(snap.meta.index, snap.meta.term)) {
      // We already hold the entry the snapshot ends at: just fast-forward the commit.
      this.log.commitTo(snap.meta.index);
      this.sendAppResp(m.from, this.log.lastIndex(), false, 0, 0);
      return;
    }
    this.log.restore(snap);
    this.conf = { voters: [...snap.meta.conf.voters].sort(), learners: [...snap.meta.conf.learners].sort() };
    this.confHistory = [{ index: snap.meta.index, conf: this.conf }];
    this.sendAppResp(m.from, this.log.lastIndex(), false, 0, 0);
  }

  private sendAppResp(to: NodeId, index: number, reject: boolean, rejectHint: number, logTerm: number): void {
    this.send({ type: 'app-resp', from: this.id, to, term: this.term, index, reject, rejectHint, logTerm });
  }

  // ---- leader side of replication ----

  private appendEntries(ents: Entry[]): number {
    let i = this.log.lastIndex();
    for (const e of ents) {
      i++;
      e.term = this.term;
      e.index = i;
    }
    const last = this.log.append(ents);
    this.progress.get(this.id)?.maybeUpdate(last);
    this.maybeCommit();
    return last;
  }

  /** Commit the highest index a quorum has stored, if it is of this term (never an older one). */
  maybeCommit(): boolean {
    const idx = majorityValue(this.conf.voters, (id) => this.progress.get(id)?.match ?? 0);
    const hadOwnTerm = this.log.term(this.log.committed) === this.term;
    const moved = this.log.maybeCommit(idx, this.term);
    if (moved && !hadOwnTerm && this.readsAwaitingCommit.length > 0) {
      const waiting = this.readsAwaitingCommit;
      this.readsAwaitingCommit = [];
      for (const r of waiting) this.handleReadRequest(r.ctx, r.from);
    }
    return moved;
  }

  sendAppend(to: NodeId): boolean {
    return this.maybeSendAppend(to, true);
  }

  maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.progress.get(to);
    if (pr === undefined || to === this.id || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    let ents: Entry[] | null = null;
    if (prevTerm !== null) {
      try {
        ents = this.log.slice(pr.next, Math.min(this.log.lastIndex() + 1, pr.next + this.cfg.maxEntriesPerMsg));
      } catch (e) {
        if (!(e instanceof RaftError)) throw e;
      }
    }
    if (prevTerm === null || ents === null) {
      // The entries this peer needs were compacted away: send the snapshot instead.
      const snapshot = this.log.snapshot();
      this.send({ type: 'snap', from: this.id, to, term: this.term, snapshot });
      pr.becomeSnapshot(snapshot.meta.index, this.tickCount);
      return true;
    }
    if (ents.length === 0 && !sendIfEmpty) return false;
    this.send({ type: 'app', from: this.id, to, term: this.term, index: prevIndex, logTerm: prevTerm, entries: ents, commit: this.log.committed });
    pr.sentEntries(prevIndex + ents.length, ents.length);
    return true;
  }

  bcastAppend(): void {
    for (const id of this.progress.keys()) if (id !== this.id) this.sendAppend(id);
  }

  /** Start a heartbeat round: it renews the lease and confirms reads once a quorum acknowledges it. */
  bcastHeartbeat(): number {
    const round = this.rounds.start(this.cfg.clock());
    const self = this.progress.get(this.id);
    if (self !== undefined) self.ackedRound = round;
    for (const [id, pr] of this.progress) {
      if (id === this.id) continue;
      const commit = Math.min(pr.match, this.log.committed);
      this.send({ type: 'heartbeat', from: this.id, to: id, term: this.term, commit, round });
    }
    this.roundAcked();
    return round;
  }

  /** Fold heartbeat acks: the newest round a quorum confirmed extends the lease and releases reads. */
  roundAcked(): void {
    const acked = majorityValue(this.conf.voters, (id) => this.progress.get(id)?.ackedRound ?? 0);
    for (const p of this.rounds.confirm(acked)) this.respondRead(p.ctx, p.from, p.index);
  }

  handleAppendResponse(m: AppendResponseMessage): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return;
    pr.recentActive = true;
    if (m.reject) {
      let nextProbe = m.rejectHint;
      if (m.logTerm > 0) nextProbe = this.log.findConflictByTerm(m.rejectHint, m.logTerm);
      if (pr.maybeDecrTo(m.index, nextProbe)) {
        if (pr.state === 'replicate') pr.becomeProbe();
        this.sendAppend(m.from);
      }
      return;
    }
    const wasPaused = pr.isPaused();
    if (!pr.maybeUpdate(m.index)) return;
    if (pr.state === 'probe') pr.becomeReplicate();
    else if (pr.state === 'snapshot' && pr.match >= pr.pendingSnapshot) {
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === 'replicate') pr.inflights.freeLE(m.index);

    if (this.maybeCommit()) this.bcastAppend();
    else if (wasPaused) this.sendAppend(m.from);
    while (this.maybeSendAppend(m.from, false)) {
      // Keep the pipeline full up to the inflight limit.
    }
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex() && !this.timeoutNowSent) {
      this.sendTimeoutNow(m.from);
    }
  }

  handleHeartbeatResponse(from: NodeId, round: number): void {
    const pr = this.progress.get(from);
    if (pr === undefined) return;
    pr.recentActive = true;
    pr.probeSent = false;
    // Acks can be lost: free one slot so a full pipeline cannot stall forever (etcd does the same).
    if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirst();
    if (round > pr.ackedRound && round <= this.rounds.current) pr.ackedRound = round;
    if (pr.match < this.log.lastIndex()) this.sendAppend(from);
    this.roundAcked();
  }

  /**
   * Give up a transfer. If timeout-now already went out, the lease is gone for the rest of this
   * term, so a leader staying on could never hold the VIP again: it stands down instead and a fresh
   * election produces a leader with a lease. Returns true if it stood down.
   */
  private abortLeaderTransfer(): boolean {
    const sent = this.timeoutNowSent;
    this.leadTransferee = null;
    this.timeoutNowSent = false;
    if (!sent) return false;
    this.becomeFollower(this.term, null);
    return true;
  }

  private sendTimeoutNow(to: NodeId): void {
    // Give the lease up first: the target's transfer vote may override promises made to us.
    this.rounds.forfeit();
    this.timeoutNowSent = true;
    this.send({ type: 'timeout-now', from: this.id, to, term: this.term });
  }

  // ---- client requests ----

  private requireLeader(): void {
    if (this.role !== 'leader') throw new RaftError('RAFT_ERR_NOT_LEADER', `${this.id} is not the leader`, this.lead);
    if (this.leadTransferee !== null) {
      throw new RaftError('RAFT_ERR_TRANSFER_IN_PROGRESS', `leadership is moving to ${this.leadTransferee}`, this.lead);
    }
  }

  private appendProposal(type: Entry['type'], data: Uint8Array): { index: number; term: number } {
    if (this.log.lastIndex() - this.log.committed >= this.cfg.maxUncommittedEntries) {
      throw new RaftError('RAFT_ERR_PROPOSAL_DROPPED', 'too many uncommitted entries', this.lead);
    }
    const index = this.appendEntries([{ term: 0, index: 0, type, data }]);
    this.bcastAppend();
    return { index, term: this.term };
  }

  propose(data: Uint8Array): { index: number; term: number } {
    this.requireLeader();
    return this.appendProposal('normal', data);
  }

  proposeConfChange(cc: ConfChange): { index: number; term: number } {
    this.requireLeader();
    if (this.pendingConfIndex > this.log.applied) {
      throw new RaftError('RAFT_ERR_CONF_CHANGE_PENDING', 'a membership change is still being applied', this.lead);
    }
    if (this.log.term(this.log.committed) !== this.term) {
      // Ongaro's single-server change bug (raft-dev, 2015): a new leader must commit an entry of
      // its own term before it changes membership, or two configurations can elect two leaders.
      throw new RaftError('RAFT_ERR_CONF_CHANGE_PENDING', 'the leader has not committed an entry of its term yet', this.lead);
    }
    const problem = confChangeProblem(this.conf, cc);
    if (problem !== null) throw new RaftError('RAFT_ERR_INVALID_CONF_CHANGE', problem, this.lead);
    const res = this.appendProposal('conf-change', encodeConfChange(cc));
    this.pendingConfIndex = res.index;
    return res;
  }

  transferLeadership(to: NodeId): void {
    if (this.role !== 'leader') throw new RaftError('RAFT_ERR_NOT_LEADER', `${this.id} is not the leader`, this.lead);
    if (to === this.id) return;
    if (this.leadTransferee !== null) {
      if (this.leadTransferee === to) return;
      throw new RaftError('RAFT_ERR_TRANSFER_IN_PROGRESS', `leadership is moving to ${this.leadTransferee}`, this.lead);
    }
    if (!this.conf.voters.includes(to)) throw new RaftError('RAFT_ERR_INVALID_TRANSFER', `${to} is not a voter`, this.lead);
    // The transfer must finish within one election timeout (checked in tickHeartbeat).
    this.electionElapsed = 0;
    this.leadTransferee = to;
    const pr = this.progress.get(to);
    if (pr !== undefined && pr.match === this.log.lastIndex()) this.sendTimeoutNow(to);
    else this.sendAppend(to);
  }

  readIndex(ctx: string): void {
    if (this.role === 'leader') {
      this.handleReadRequest(ctx, this.id);
      return;
    }
    if (this.lead === null) throw new RaftError('RAFT_ERR_NOT_LEADER', `${this.id} knows no leader`, null);
    this.send({ type: 'read-index', from: this.id, to: this.lead, term: this.term, ctx });
  }

  handleReadRequest(ctx: string, from: NodeId): void {
    if (this.log.term(this.log.committed) !== this.term) {
      // Until an entry of this term commits we do not know the true commit index (Raft §6.4).
      this.readsAwaitingCommit.push({ ctx, from });
      return;
    }
    const index = this.log.committed;
    if (this.cfg.readOnly === 'lease' && this.lease().valid) {
      this.respondRead(ctx, from, index);
      return;
    }
    const round = this.bcastHeartbeat();
    if (this.rounds.confirmedRound >= round) this.respondRead(ctx, from, index);
    else this.rounds.waitFor({ ctx, from, index, round });
  }

  private respondRead(ctx: string, from: NodeId, index: number): void {
    if (from === this.id) this.readStates.push({ index, ctx });
    else this.send({ type: 'read-index-resp', from: this.id, to: from, term: this.term, ctx, index, reject: false });
  }

  // ---- membership ----

  /** Apply a committed conf change; called by RawNode once the driver has applied the entry. */
  applyConfChange(index: number, cc: ConfChange): void {
    this.conf = applyConfChange(this.conf, cc);
    this.confHistory.push({ index, conf: this.conf });
    if (this.role !== 'leader') return;
    const last = this.log.lastIndex();
    for (const id of [...this.progress.keys()]) {
      if (!this.conf.voters.includes(id) && !this.conf.learners.includes(id)) this.progress.delete(id);
    }
    for (const id of [...this.conf.voters, ...this.conf.learners]) {
      const learner = this.conf.learners.includes(id);
      const pr = this.progress.get(id);
      if (pr === undefined) this.progress.set(id, new Progress(last + 1, this.cfg.maxInflight, learner));
      else pr.isLearner = learner;
    }
    if (!this.conf.voters.includes(this.id)) {
      // Removed (or demoted): a leader outside the voters cannot stay leader.
      this.becomeFollower(this.term, null);
      return;
    }
    if (this.leadTransferee !== null && !this.conf.voters.includes(this.leadTransferee) && this.abortLeaderTransfer()) {
      return;
    }
    // The quorum may have shrunk (commit can move) or grown (new members need probing).
    this.maybeCommit();
    this.bcastAppend();
    this.roundAcked();
  }

  confAt(index: number): ConfState {
    let conf = this.confHistory[0]?.conf ?? this.conf;
    for (const h of this.confHistory) if (h.index <= index) conf = h.conf;
    return conf;
  }

  pruneConfHistory(index: number): void {
    const keep = this.confAt(index);
    this.confHistory = [{ index, conf: keep }, ...this.confHistory.filter((h) => h.index > index)];
  }

  decodeConfEntry(e: Entry): ConfChange {
    return decodeConfChange(e.data);
  }
}
