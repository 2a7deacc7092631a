// The rolling deploy: one node at a time, followers first, the leader last and only after it handed
// leadership over; each node must come back ready and caught up before the next one is touched, and a
// node that does not is rolled back and the deploy stops, so the cluster keeps serving on the others.
import { setTimeout as sleep } from 'node:timers/promises';
import { leaderView, waitHealthy, type MemberNode } from './cluster-health.js';
import { readNodeAccess, requestTransfer } from './node-access.js';
import { DeployError } from './errors.js';
import { dropStaged, restartDaemon, rollBack, stageRelease, swapIn } from './release.js';
import type { DeployOptions, DeployReport, NodeStep } from './types.js';

const POLL_MS = 1000;

export async function rollingDeploy(options: DeployOptions): Promise<DeployReport> {
  const log = options.log ?? (() => undefined);
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 180_000;
  const transferTimeoutMs = options.transferTimeoutMs ?? 60_000;
  const started = Date.now();
  const nodes: MemberNode[] = [];
  for (const target of options.targets) nodes.push({ target, access: await readNodeAccess(target) });

  // A node just booted (or a VM under emulation) may need a while: healthy within a bound, or no deploy.
  const before = await waitHealthy(nodes, 0, options.precheckTimeoutMs ?? 120_000);
  if (before !== null) throw new DeployError('DEPLOY_ERR_UNHEALTHY', `cluster not healthy before the deploy: ${before}`);

  // Stage everywhere first: a release that does not unpack or load fails the deploy before any restart.
  let version = 'unknown';
  for (const n of nodes) {
    version = await stageRelease(n.target, options.tarball);
    log(`${n.access.id}: staged ${version}`);
  }

  const steps: NodeStep[] = [];
  const order: string[] = [];
  const pending = new Set(nodes);
  try {
    while (pending.size > 0) {
      const view = await leaderView(nodes);
      if (view === null) throw new DeployError('DEPLOY_ERR_UNHEALTHY', 'no leader between steps');
      // Followers first; the leader only when it is the last one left.
      const follower = [...pending].find((n) => n.access.id !== view.leader);
      const node = follower ?? [...pending][0]!;
      const wasLeader = node.access.id === view.leader;
      let transferMs: number | null = null;
      // A one-node cluster has no one to hand over to: it restarts as it is (and serves nothing meanwhile).
      if (wasLeader && nodes.length > 1) {
        const t0 = Date.now();
        log(`${node.access.id}: leader, transferring leadership`);
        await requestTransfer(node.target.host, node.access, null);
        const deadline = t0 + transferTimeoutMs;
        for (;;) {
          const v = await leaderView(nodes);
          if (v !== null && v.leader !== node.access.id) break;
          if (Date.now() > deadline) throw new DeployError('DEPLOY_ERR_TRANSFER', `${node.access.id} still leads after ${transferTimeoutMs} ms`);
          await sleep(POLL_MS / 2);
        }
        transferMs = Date.now() - t0;
        log(`${node.access.id}: leadership moved in ${transferMs} ms`);
      }
      const commitBefore = (await leaderView(nodes))?.commitIndex ?? view.commitIndex;
      await swapIn(node.target);
      const t0 = Date.now();
      log(`${node.access.id}: restarting`);
      await restartDaemon(node.target);
      const reason = await waitHealthy(nodes, commitBefore, nodeTimeoutMs);
      pending.delete(node);
      order.push(node.access.id);
      if (reason === null) {
        steps.push({ node: node.access.id, wasLeader, restartMs: Date.now() - t0, transferMs, outcome: 'updated' });
        log(`${node.access.id}: back, ready and caught up in ${Date.now() - t0} ms`);
        continue;
      }
      log(`${node.access.id}: not back after ${nodeTimeoutMs} ms (${reason}): rolling it back`);
      await rollBack(node.target);
      await restartDaemon(node.target);
      steps.push({ node: node.access.id, wasLeader, restartMs: Date.now() - t0, transferMs, outcome: 'rolled-back' });
      const after = await waitHealthy(nodes, 0, nodeTimeoutMs);
      throw new DeployError(
        'DEPLOY_ERR_NODE_NOT_BACK',
        `${node.access.id} did not come back with ${version} (${reason}); rolled back, ${after === null ? 'cluster healthy again' : `cluster still unhealthy: ${after}`}; ${[...pending].map((n) => n.access.id).join(', ') || 'no node'} left untouched`,
      );
    }
  } finally {
    for (const n of pending) await dropStaged(n.target);
  }
  return { version, order, steps, totalMs: Date.now() - started };
}
