// What the leader knows about one peer's log (etcd's tracker.Progress): match/next, the probe /
// replicate / snapshot state machine, and the window of MsgApps in flight.
import type { ProgressState } from './types.js';

/** Last indexes of MsgApps sent but not yet acknowledged, oldest first; bounded by `limit`. */
export class Inflights {
  private readonly buf: number[] = [];
  constructor(private readonly limit: number) {}

  add(lastIndex: number): void {
    this.buf.push(lastIndex);
  }

  /** Forget every message whose last index is <= `index` (acknowledged by a cumulative ack). */
  freeLE(index: number): void {
    let n = 0;
    while (n < this.buf.length && (this.buf[n] as number) <= index) n++;
    if (n > 0) this.buf.splice(0, n);
  }

  freeFirst(): void {
    this.buf.shift();
  }

  full(): boolean {
    return this.buf.length >= this.limit;
  }

  count(): number {
    return this.buf.length;
  }

  reset(): void {
    this.buf.length = 0;
  }
}

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** In probe state: one MsgApp was sent and we wait for its answer or the next heartbeat. */
  probeSent = false;
  /** In snapshot state: the index of the snapshot sent, and when (in leader ticks). */
  pendingSnapshot = 0;
  snapshotSentAtTick = 0;
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  /** Highest heartbeat round of the current term this peer has acknowledged. */
  ackedRound = 0;
  readonly inflights: Inflights;
  isLearner: boolean;

  constructor(next: number, maxInflight: number, isLearner: boolean) {
    this.next = next;
    this.inflights = new Inflights(maxInflight);
    this.isLearner = isLearner;
  }

  private resetState(state: ProgressState): void {
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    if (this.state === 'snapshot') {
      const pending = this.pendingSnapshot;
      this.resetState('probe');
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState('probe');
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState('replicate');
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number, tick: number): void {
    this.resetState('snapshot');
    this.pendingSnapshot = snapshotIndex;
    this.snapshotSentAtTick = tick;
  }

  /** A successful append ack up to n; false if it tells us nothing new (stale or duplicate). */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /** After sending entries up to `last` optimistically (replicate) or as a probe. */
  sentEntries(last: number, count: number): void {
    if (this.state === 'replicate') {
      if (count > 0) {
        this.next = last + 1;
        this.inflights.add(last);
      }
    } else if (this.state === 'probe') {
      this.probeSent = true;
    }
  }

  /**
   * A rejection of the MsgApp whose prev index was `rejected`; `matchHint` is where the follower says
   * its log may match. Returns false for a stale rejection that must be ignored.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  /** Whether the leader must hold back MsgApps to this peer right now. */
  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
      default: {
        const never: never = this.state;
        return never;
      }
    }
  }
}
