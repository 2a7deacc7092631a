// The planned-move drill, repeated: REST transfer-leadership N times under the client loop, printing
// per move the requests lost and what the old leader's drain logged (`node --import tsx
// scripts/lab/transfer-drill.ts --runs 20 [--keep-alive] [--kill-every K]`): --keep-alive runs a
// second loop on one keep-alive connection; --kill-every K kill -9s and restarts the leader before
// every K-th move, so the moves also meet what a killed predecessor left in the kernel. Needs root.
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { LabCluster } from './cluster.js';
import { analyzeGaps } from './drill-client.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '20' },
    'keep-alive': { type: 'boolean', default: false },
    'kill-every': { type: 'string', default: '0' },
    keep: { type: 'boolean', default: false },
  },
});
const runs = Math.max(1, Math.min(200, Number(values.runs) || 20));
const killEvery = Math.max(0, Number(values['kill-every']) || 0);
const prefix = `blt${process.pid % 100000}`;
const cluster = await LabCluster.start({ prefix });
let lost = 0;
let failedMoves = 0;
try {
  for (let i = 1; i <= runs; i++) {
    if (killEvery > 0 && i % killEvery === 1 % killEvery) {
      const victim = await cluster.waitForLeader({ timeoutMs: 15_000 });
      const warm = cluster.client({ maxMs: 20_000, timeoutMs: 800 });
      await warm.waitFor((r) => r.ok, 15_000);
      await cluster.kill(victim);
      await cluster.waitForLeader({ timeoutMs: 20_000, not: victim });
      await warm.stop();
      await cluster.restart(victim);
      console.log(`before run ${i}: kill -9 ${victim} under load and restarted it`);
    }
    const old = await cluster.waitForLeader({ timeoutMs: 15_000 });
    const others = cluster.nodes.map((n) => n.id).filter((id) => id !== old);
    const to = others[i % others.length]!;
    const loops = [cluster.client({ maxMs: 60_000, timeoutMs: 3000 })];
    if (values['keep-alive']) loops.push(cluster.client({ maxMs: 60_000, timeoutMs: 3000, keepAlive: true }));
    for (const loop of loops) await loop.waitFor((r) => r.ok, 15_000);
    await sleep(300);
    const at = Date.now();
    const res = await cluster.api(old, 'POST', '/api/v1/cluster/transfer-leadership', { to });
    const next = await cluster.waitForLeader({ timeoutMs: 15_000, not: old });
    for (const loop of loops) await loop.waitFor((r) => r.ok && r.t0 >= at && cluster.nodeByAddress(r.via) === next, 15_000).catch(() => null);
    await sleep(1000);
    const drain = cluster.logs(old, at).filter((l) => /in flight on the VIP/.test(l.msg));
    const parts: string[] = [];
    for (const [k, loop] of loops.entries()) {
      const results = await loop.stop();
      const report = analyzeGaps(results, at - 300);
      lost += report.failures;
      if (report.failures > 0) failedMoves++;
      const causes = report.gaps.map((g) => JSON.stringify(g.causes)).join(' ');
      parts.push(`${k === 0 ? 'close' : 'keep-alive'} lost ${report.failures} of ${report.requests} ${causes}(slowest ${report.maxLatencyMs} ms)`);
      const bad = results.filter((r) => !r.ok && r.t0 >= at - 300);
      if (bad.length > 0) parts.push(`failed ${JSON.stringify(bad.map((r) => ({ ...r, t0: r.t0 - at, t1: r.t1 - at })))}`);
    }
    console.log(
      `run ${i}: ${old} -> ${next} (HTTP ${res.status}) ${parts.join('; ')}; ` +
        `drain ${drain.map((l) => JSON.stringify({ msg: l.msg, waitedMs: l['waitedMs'], heldBy: l['heldBy'], sockets: l['sockets'], workers: l['workers'] })).join(' ')}`,
    );
  }
} finally {
  console.log(`${runs} moves: ${lost} requests lost, ${failedMoves} client loops lost any; logs in ${cluster.dir}`);
  await cluster.close(values.keep);
}
