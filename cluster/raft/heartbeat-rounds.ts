// The leader's numbered heartbeat rounds and what a quorum's acknowledgement of one buys: the
// lease (counted from the round's send time) and the ReadIndex requests waiting for that proof.
import type { LeaseState, NodeId } from './types.js';

export interface PendingRead {
  ctx: string;
  from: NodeId;
  index: number;
  /** The first round sent after the request; its confirmation proves we were still leader. */
  round: number;
}

export class HeartbeatRounds {
  private round = 0;
  private readonly sentAt = new Map<number, number>();
  private confirmed = 0;
  private leaseUntil = 0;
  private forfeited = false;
  private reads: PendingRead[] = [];

  /** `leaseLengthMs`: electionTimeout x (1 - maxClockDrift) - margin, in the leader's clock. */
  constructor(private readonly leaseLengthMs: number) {}

  get current(): number {
    return this.round;
  }

  get confirmedRound(): number {
    return this.confirmed;
  }

  /** A new term (or role): no rounds, no lease, no waiting reads. */
  reset(): void {
    this.round = 0;
    this.sentAt.clear();
    this.confirmed = 0;
    this.leaseUntil = 0;
    this.forfeited = false;
    this.reads = [];
  }

  /** Number a new round sent at `now` (the leader's clock). */
  start(now: number): number {
    this.round++;
    this.sentAt.set(this.round, now);
    return this.round;
  }

  /** A quorum has acknowledged round `acked`: extend the lease and return the reads it releases. */
  confirm(acked: number): PendingRead[] {
    if (acked <= this.confirmed || acked > this.round) return [];
    this.confirmed = acked;
    const sent = this.sentAt.get(acked);
    if (sent !== undefined && !this.forfeited) this.leaseUntil = Math.max(this.leaseUntil, sent + this.leaseLengthMs);
    for (const r of [...this.sentAt.keys()]) if (r <= acked) this.sentAt.delete(r);
    const released = this.reads.filter((p) => p.round <= acked);
    this.reads = this.reads.filter((p) => p.round > acked);
    return released;
  }

  waitFor(read: PendingRead): void {
    this.reads.push(read);
  }

  /** Give the lease up for the rest of the term (leadership transfer). */
  forfeit(): void {
    this.forfeited = true;
    this.leaseUntil = 0;
  }

  lease(now: number): LeaseState {
    if (this.forfeited) return { valid: false, validUntil: 0 };
    return { valid: now < this.leaseUntil, validUntil: this.leaseUntil };
  }
}
