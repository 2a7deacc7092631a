// The failover drill over the Host seam: a client loop through the VIP, SIGKILL of the leader's daemon,
// then what the client saw (its longest gap) and how long the cluster took to name a new leader.
import { setTimeout as sleep } from 'node:timers/promises';
import { leaderView, type MemberNode } from '../deploy/cluster-health.js';
import { readNodeAccess } from '../deploy/node-access.js';
import type { DeployTarget } from '../deploy/types.js';
import type { Host } from '../hosts/types.js';
import { longestGap, startClientLoop } from './client-loop.js';

export interface DrillOptions {
  nodes: readonly DeployTarget[];
  client: Host;
  /** What the client requests: the service through the VIP, e.g. http://198.18.0.100:8080/. */
  url: string;
  /** Kills the daemon on the leader's host. Default: systemctl kill --signal=SIGKILL ballast. */
  kill?: readonly string[];
  /** Fails the leader some other way instead of `kill` (power its VM off, say). */
  fail?: (leader: Host) => Promise<void>;
  /** Bound on the new leader showing up. Default 60 s. */
  electionTimeoutMs?: number;
  /** How long to keep looking for the leader before the drill starts. Default 120 s. */
  leaderLookMs?: number;
  /** How long the client keeps going after the new leader is seen (to see it recover). Default 5 s. */
  settleMs?: number;
  log?: (line: string) => void;
}

export interface DrillReport {
  oldLeader: string;
  /** Operator's clock (epoch ms) when the kill was sent. */
  killedAt: number;
  newLeader: string | null;
  /**
   * Kill command sent -> the new leader took office, dated by the new leader itself: when its first
   * answer arrived minus how long it said it had led. An upper bound that the polling does not
   * inflate (under emulation one look over SSH takes seconds). Older nodes: when it was first seen.
   */
  electionMs: number | null;
  /** Kill command sent -> a new leader was first seen (includes the polling's SSH round trips). */
  electionSeenMs: number | null;
  vipHolder: string | null;
  /** Kill command sent -> the new leader raised the VIP, dated as electionMs is (null: no VIP, or not in time). */
  vipTakeoverMs: number | null;
  /** Client's clock: last success before its longest failure run -> first success after it. */
  clientGapMs: number;
  failedRequests: number;
  requests: number;
  /** True when the client succeeded again after the kill. */
  recovered: boolean;
}

export async function runDrill(options: DrillOptions): Promise<DrillReport> {
  const log = options.log ?? (() => undefined);
  const nodes: MemberNode[] = [];
  for (const target of options.nodes) nodes.push({ target, access: await readNodeAccess(target) });
  // One view can miss under load (each look is an HTTP request made from the node, with its own bound):
  // look again for a while before calling the cluster leaderless.
  let before = await leaderView(nodes);
  const lookUntil = Date.now() + (options.leaderLookMs ?? 120_000);
  while (before?.leader == null && Date.now() < lookUntil) {
    await sleep(2000);
    before = await leaderView(nodes);
  }
  if (before?.leader == null) throw new Error('drill: no leader before the drill');
  const oldLeader = before.leader;
  const victim = nodes.find((n) => n.access.id === oldLeader)!;

  const loop = startClientLoop(options.client, options.url);
  // Warm: the client must see the service up before anything is killed.
  const warmDeadline = Date.now() + 30_000;
  while (loop.samples.filter((s) => s.ok).length < 5) {
    if (Date.now() > warmDeadline) {
      await loop.stop();
      throw new Error(`drill: the client never reached ${options.url} (${loop.samples.at(-1)?.error ?? 'no answer'})`);
    }
    await sleep(200);
  }
  log(options.fail ? `client up; failing ${oldLeader}` : `client up; killing ${oldLeader}'s daemon`);
  const [cmd, ...args] = options.kill ?? ['systemctl', 'kill', '--signal=SIGKILL', 'ballast'];
  const tKill = Date.now();
  if (options.fail) await options.fail(victim.target.host);
  else await victim.target.host.exec(cmd!, args);
  let newLeader: string | null = null;
  let electionMs: number | null = null;
  let electionSeenMs: number | null = null;
  let vipHolder: string | null = null;
  let vipTakeoverMs: number | null = null;
  const deadline = tKill + (options.electionTimeoutMs ?? 60_000);
  // Until a new leader says it holds the VIP (its own view: only the holder knows for sure).
  while (Date.now() < deadline && vipTakeoverMs === null) {
    const v = await leaderView(nodes.filter((n) => n !== victim));
    const seenMs = Date.now() - tKill;
    if (v?.leader != null && v.leader !== oldLeader) {
      if (newLeader === null) {
        electionSeenMs = seenMs;
        electionMs = datedBack(seenMs, v.leadingForMs);
        log(`${v.leader} leads after ${electionMs} ms (first seen after ${seenMs} ms)`);
      }
      newLeader = v.leader;
      if (v.vip.address === null || v.vip.holder === v.leader) {
        vipHolder = v.vip.holder;
        vipTakeoverMs = v.vip.address === null ? null : Math.max(electionMs ?? 0, datedBack(seenMs, v.vip.heldForMs));
        if (v.vip.address === null) break;
        log(`${vipHolder} holds the VIP after ${vipTakeoverMs} ms (first seen after ${seenMs} ms)`);
      }
    }
    if (vipTakeoverMs === null) await sleep(250);
  }
  if (newLeader === null) log('no new leader');
  else if (vipHolder === null) log(`${newLeader} leads but did not say it holds the VIP in time`);
  await sleep(options.settleMs ?? 5000);
  const samples = await loop.stop();
  const firstAfterKill = samples.findIndex((s) => !s.ok);
  const recovered = firstAfterKill >= 0 ? samples.slice(firstAfterKill).some((s) => s.ok) : samples.length > 0;
  const gap = longestGap(samples);
  return {
    oldLeader,
    killedAt: tKill,
    newLeader,
    electionMs,
    electionSeenMs,
    vipHolder,
    vipTakeoverMs,
    clientGapMs: gap.gapMs,
    failedRequests: samples.filter((s) => !s.ok).length,
    requests: samples.length,
    recovered,
  };
}

/** An event the node dates itself ("for N ms"), moved back from when its answer was seen; never before the kill. */
function datedBack(seenMs: number, forMs: number | null | undefined): number {
  return typeof forMs === 'number' && forMs >= 0 ? Math.max(0, seenMs - forMs) : seenMs;
}
