// LeadershipTransfer: the planned moves of leadership and the VIP with it: transfer-leadership (REST,
// forwarded from a follower), the fail-stop step-down after a failed VIP raise, and the hand-over
// before SIGTERM; each drains the VIP (SYN gate, in-flight work) before the lease and address go.
import type { Logger } from 'pino';
import type { WorkerSupervisor } from '../../lb/worker-supervisor.js';
import { parseVipAddress } from '../vip/vip-address.js';
import { ClusterError } from './errors.js';
import { drainForHandOver } from './hand-over.js';
import type { RaftStateStore } from './raft-store.js';
import type { VipHolder } from './vip-holder.js';

export interface LeadershipTransferDeps {
  /** The node's parts as they stand now (each is set during start, so read them late). */
  raft: () => RaftStateStore | null;
  vip: () => VipHolder | null;
  supervisor: () => WorkerSupervisor | null;
  logger: Logger;
  /** cluster.vip.handOverDrain: the bound on waiting for work in flight on the VIP. */
  drainMs: number;
  electionTimeoutMs: number;
}

export class LeadershipTransfer {
  /** A planned move is draining the VIP: a second request waits for it instead of draining again. */
  private moving: Promise<string> | null = null;

  constructor(private readonly deps: LeadershipTransferDeps) {}

  /** The voter with the highest match index among those heard from recently; null unless leading. */
  bestFollower(): string | null {
    const status = this.deps.raft()?.status();
    if (!status || status.role !== 'leader') return null;
    let best: { id: string; match: number } | null = null;
    for (const [id, pr] of Object.entries(status.progress)) {
      if (id === status.id || pr.isLearner || !pr.recentActive) continue;
      if (!best || pr.match > best.match) best = { id, match: pr.match };
    }
    return best?.id ?? null;
  }

  /** Give up leadership (a failed VIP raise): hand it to the most caught-up follower. */
  stepDown(why: string): void {
    const raft = this.deps.raft();
    if (!raft) return;
    const target = this.bestFollower();
    if (!target) {
      this.deps.logger.error({ why }, 'cannot step down: no follower to hand leadership to');
      return;
    }
    this.deps.logger.warn({ why, to: target }, 'stepping down');
    try {
      raft.transferLeadership(target);
    } catch (err) {
      this.deps.logger.error({ err }, 'leadership transfer refused');
    }
  }

  /**
   * POST /cluster/transfer-leadership: to a named voter, or the most caught-up one. Resolves once the
   * VIP is drained and the transfer has started (the target campaigns after this node let go).
   */
  async transfer(to?: string): Promise<string> {
    const raft = this.deps.raft();
    if (!raft) throw new ClusterError('CLUSTER_ERR_NO_LEADER', 'single-node cluster: nothing to transfer to');
    const status = raft.status();
    if (status.role !== 'leader') {
      if (!status.leader) throw new ClusterError('CLUSTER_ERR_NO_LEADER', 'no leader: the cluster has no quorum right now; retry when a leader is elected');
      // A follower passes the request on to the leader; without a named target it offers itself
      // (the leader brings a target up to date before handing over).
      const target = to ?? status.id;
      raft.requestTransfer(target);
      return target;
    }
    const target = to ?? this.bestFollower();
    if (!target) throw new ClusterError('CLUSTER_ERR_NO_LEADER', 'no caught-up follower to transfer leadership to');
    if (this.moving) {
      const moving = await this.moving;
      if (moving === target) return target;
      throw new ClusterError('CLUSTER_ERR_NO_LEADER', `leadership was being transferred to ${moving}; retry in a moment`);
    }
    const move = (async () => {
      const gated = await this.drainVip();
      try {
        // Gives up the lease, so the VIP (and with it the gate) goes before the target is told to campaign.
        raft.transferLeadership(target);
      } catch (err) {
        if (gated) await this.liftGate();
        throw err;
      }
      if (gated) void this.liftGateIfTransferFails();
      return target;
    })();
    this.moving = move;
    try {
      return await move;
    } finally {
      this.moving = null;
    }
  }

  /**
   * SIGTERM, leader side: drain the VIP, release it for good, then hand leadership to the most
   * caught-up follower and wait (bounded) until it has taken it.
   */
  async handOverBeforeStop(): Promise<void> {
    const { logger } = this.deps;
    // A follower will take the VIP over: let what is in flight on it finish first (the close lifts the gate).
    if (this.deps.raft()?.status().role === 'leader' && this.bestFollower() !== null) await this.drainVip();
    await this.deps.vip()?.close();
    const raft = this.deps.raft();
    if (raft?.status().role !== 'leader') return;
    const target = this.bestFollower();
    if (!target) return;
    try {
      raft.transferLeadership(target);
      const deadline = Date.now() + 2000;
      while (raft.status().role === 'leader' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      logger.info({ to: target }, 'leadership handed over before stopping');
    } catch (err) {
      logger.warn({ err }, 'could not hand over leadership before stopping');
    }
  }

  /** Planned move, leader side: hold off new connections on the VIP and let those in flight finish. */
  private async drainVip(): Promise<boolean> {
    const vip = this.deps.vip();
    const supervisor = this.deps.supervisor();
    if (!vip?.isHeld() || !supervisor) return false;
    const ip = parseVipAddress(vip.driver.address).ip;
    const report = await drainForHandOver({
      driver: vip.driver,
      onGated: () => supervisor.closeKeepAliveOn(ip),
      // Work in flight, and keep-alive connections on the VIP (each worker closes them as it answers).
      inFlight: async () => {
        const [flight, kept] = await Promise.all([supervisor.inFlightByWorker(), supervisor.closeKeepAliveOn(ip)]);
        const both: Record<string, number | null> = { ...flight };
        for (const [id, n] of Object.entries(kept)) both[`${id} keep-alive`] = n;
        return both;
      },
      logger: this.deps.logger.child({ component: 'hand-over' }),
      drainMs: this.deps.drainMs,
    });
    return report.gated;
  }

  private async liftGate(): Promise<void> {
    await this.keepKeepAlive();
    await this.deps.vip()?.driver.unquiesce().catch((err: unknown) => this.deps.logger.error({ err }, 'could not let new connections to the VIP through again'));
  }

  /** A transfer that does not complete leaves this node leading with the VIP: it must take connections again. */
  private async liftGateIfTransferFails(): Promise<void> {
    const leadingWithVip = (): boolean => this.deps.raft()?.status().role === 'leader' && this.deps.vip()?.isHeld() === true;
    // Raft gives a transfer one election timeout; past twice that, it is over one way or the other.
    const deadline = Date.now() + 2 * this.deps.electionTimeoutMs + 500;
    while (Date.now() < deadline && leadingWithVip()) {
      await new Promise((r) => setTimeout(r, 50));
    }
    // A released VIP took the gate with it; a VIP still held means the transfer failed.
    if (leadingWithVip()) {
      this.deps.logger.warn('leadership transfer did not complete; taking new connections on the VIP again');
      await this.liftGate();
    } else {
      await this.keepKeepAlive();
    }
  }

  /** The workers stop closing keep-alive connections on the VIP (the move is over, one way or the other). */
  private async keepKeepAlive(): Promise<void> {
    const answers = await this.deps.supervisor()?.closeKeepAliveOn(null);
    if (answers && Object.values(answers).some((n) => n === null)) this.deps.logger.warn({ answers }, 'a worker did not confirm it keeps keep-alive connections again');
  }
}
