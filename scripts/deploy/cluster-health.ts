// Cluster health as the deploy and the drill judge it, from the leader's own view over each node's Host.
import { setTimeout as sleep } from 'node:timers/promises';
import { clusterStatus, isReady } from './node-access.js';
import type { ClusterStatus, DeployTarget, NodeAccess } from './types.js';

const POLL_MS = 1000;

export interface MemberNode {
  target: DeployTarget;
  access: NodeAccess;
}

/** The leader's own view, when some node names a leader and that leader answers. */
export async function leaderView(nodes: readonly MemberNode[]): Promise<ClusterStatus | null> {
  for (const n of nodes) {
    const v = await clusterStatus(n.target.host, n.access).catch(() => null);
    if (v?.leader == null) continue;
    const leader = nodes.find((m) => m.access.id === v.leader);
    if (!leader) return null;
    const lv = leader === n ? v : await clusterStatus(leader.target.host, leader.access).catch(() => null);
    return lv?.leader === leader.access.id ? lv : null;
  }
  return null;
}

/**
 * Healthy: a leader whose view lists every node, each follower heard from recently and matched at
 * least `minIndex` (caught up), and every node ready. Returns the reason it is not, or null.
 */
export async function unhealthyReason(nodes: readonly MemberNode[], minIndex: number): Promise<string | null> {
  const view = await leaderView(nodes);
  if (view === null) return 'no leader answers';
  for (const n of nodes) {
    const seen = view.nodes.find((m) => m.id === n.access.id);
    if (!seen) return `leader ${view.leader ?? '?'} does not list ${n.access.id}`;
    if (n.access.id === view.leader) continue;
    if (seen.lastContactMs === null || seen.lastContactMs > 5000) return `${n.access.id} not in contact with the leader`;
    if ((seen.matchIndex ?? -1) < minIndex) return `${n.access.id} matched ${seen.matchIndex ?? 'nothing'} < ${minIndex}`;
  }
  for (const n of nodes) {
    if (!(await isReady(n.target.host, n.access).catch(() => false))) return `${n.access.id} not ready`;
  }
  return null;
}

export async function waitHealthy(nodes: readonly MemberNode[], minIndex: number, timeoutMs: number): Promise<string | null> {
  const deadline = Date.now() + timeoutMs;
  let reason: string | null = 'not checked';
  while (Date.now() < deadline) {
    reason = await unhealthyReason(nodes, minIndex);
    if (reason === null) return null;
    await sleep(POLL_MS);
  }
  return reason;
}

