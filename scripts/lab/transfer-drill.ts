// The planned-move drill, repeated: REST transfer-leadership N times under the client loop, printing
// per move the requests lost and what the old leader's drain logged (`node --import tsx
// scripts/lab/transfer-drill.ts --runs 20 [--keep-alive]`). Needs root (network namespaces).
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { LabCluster } from './cluster.js';
import { analyzeGaps } from './drill-client.js';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '20' }, 'keep-alive': { type: 'boolean', default: false }, keep: { type: 'boolean', default: false } },
});
const runs = Math.max(1, Math.min(200, Number(values.runs) || 20));
const prefix = `blt${process.pid % 100000}`;
const cluster = await LabCluster.start({ prefix });
let lost = 0;
let failedMoves = 0;
try {
  for (let i = 1; i <= runs; i++) {
    const old = await cluster.waitForLeader({ timeoutMs: 15_000 });
    const others = cluster.nodes.map((n) => n.id).filter((id) => id !== old);
    const to = others[i % others.length]!;
    const loop = cluster.client({ maxMs: 60_000, timeoutMs: 3000, keepAlive: values['keep-alive'] });
    await loop.waitFor((r) => r.ok, 15_000);
    await sleep(300);
    const at = Date.now();
    const res = await cluster.api(old, 'POST', '/api/v1/cluster/transfer-leadership', { to });
    const next = await cluster.waitForLeader({ timeoutMs: 15_000, not: old });
    await loop.waitFor((r) => r.ok && r.t0 >= at && cluster.nodeByAddress(r.via) === next, 15_000).catch(() => null);
    await sleep(1000);
    const report = analyzeGaps(await loop.stop(), at - 300);
    const drain = cluster.logs(old, at).filter((l) => /in flight on the VIP/.test(l.msg));
    lost += report.failures;
    if (report.failures > 0) failedMoves++;
    const causes = report.gaps.map((g) => JSON.stringify(g.causes)).join(' ');
    console.log(
      `run ${i}: ${old} -> ${next} (HTTP ${res.status}) lost ${report.failures} of ${report.requests} ${causes}; slowest ${report.maxLatencyMs} ms; ` +
        `drain ${drain.map((l) => JSON.stringify({ msg: l.msg, waitedMs: l['waitedMs'], heldBy: l['heldBy'], sockets: l['sockets'], workers: l['workers'] })).join(' ')}`,
    );
    if (report.failures > 0) {
      const bad = (await loop.stop()).filter((r) => !r.ok);
      console.log(`  failed: ${JSON.stringify(bad.map((r) => ({ ...r, t0: r.t0 - at, t1: r.t1 - at })))}`);
    }
  }
} finally {
  console.log(`${runs} moves: ${lost} requests lost, ${failedMoves} moves lost any; logs in ${cluster.dir}`);
  await cluster.close(values.keep);
}
