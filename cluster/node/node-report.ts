// This node's own NodeReport: its Raft view, its host (systeminformation, through the admin app's
// sampler) and its per-backend request counters summed over its workers.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { NodeStatsSampler } from '../../web/node-stats-route.js';
import { PeerReports } from './peer-reports.js';
import type { RaftStateStore } from './raft-store.js';
import type { BackendTraffic, ClusterView, NodeReport } from './types.js';

export interface NodeReportInputs {
  sampler: NodeStatsSampler;
  clusterView(): ClusterView;
  /** ms since this node last heard from `peer`; null when never. */
  lastContactMs(peer: string): number | null;
  /** Last log index on this node. */
  lastIndex(): number;
  /** The workers' aggregated metrics; null while no workers run. */
  metrics: (() => Promise<Registry>) | null;
  now?: () => number;
}

/** Cumulative requests and 5xx answers per pool/backend from the ballast_http_requests_total family. */
export async function backendTraffic(registry: Registry): Promise<BackendTraffic[]> {
  const family = (await registry.getMetricsAsJSON()).find((m) => m.name === 'ballast_http_requests_total');
  const byBackend = new Map<string, BackendTraffic>();
  for (const v of family?.values ?? []) {
    const pool = String(v.labels['pool'] ?? '');
    const backend = String(v.labels['backend'] ?? '');
    if (pool === '' || backend === '' || !Number.isFinite(v.value)) continue;
    const key = `${pool}\0${backend}`;
    let entry = byBackend.get(key);
    if (!entry) byBackend.set(key, (entry = { pool, backend, requests: 0, errors: 0 }));
    entry.requests += v.value;
    if (String(v.labels['code'] ?? '').startsWith('5')) entry.errors += v.value;
  }
  return [...byBackend.values()];
}

export async function makeNodeReport(inputs: NodeReportInputs): Promise<NodeReport> {
  const view = inputs.clusterView();
  const [stats, traffic] = await Promise.all([
    inputs.sampler.read().then(
      ({ cpu, memory, load, uptimeSec, interfaces }) => ({ cpu, memory, load, uptimeSec, interfaces }),
      () => null,
    ),
    inputs.metrics ? inputs.metrics().then(backendTraffic, () => null) : Promise.resolve(null),
  ]);
  const role = view.nodes.find((n) => n.id === view.nodeId)?.role ?? 'unknown';
  return {
    node: view.nodeId,
    at: (inputs.now ?? Date.now)(),
    raft: {
      role,
      term: view.term,
      leader: view.leader,
      commitIndex: view.commitIndex,
      lastIndex: inputs.lastIndex(),
      leaderContactMs: view.leader === null ? null : view.leader === view.nodeId ? 0 : inputs.lastContactMs(view.leader),
    },
    stats,
    traffic,
  };
}

export interface NodeReportBoardOptions {
  nodeId: string;
  logger: Logger;
  clusterView(): ClusterView;
  /** The node's Raft store; null on a one-node node (then nothing is sent). */
  raft(): RaftStateStore | null;
  /** The workers' aggregated metrics; null while no workers run. */
  metrics: (() => Promise<Registry>) | null;
  everyMs?: number;
}

/** The node's PeerReports, wired to its Raft store and its own report; the caller starts and stops it. */
export function createNodeReportBoard(o: NodeReportBoardOptions): PeerReports {
  const sampler = new NodeStatsSampler(o.nodeId);
  return new PeerReports({
    self: o.nodeId,
    members: () => o.clusterView().nodes.map((n) => n.id),
    make: () =>
      makeNodeReport({
        sampler,
        clusterView: () => o.clusterView(),
        lastContactMs: (peer) => o.raft()?.lastContactMs(peer) ?? null,
        lastIndex: () => o.raft()?.status().lastIndex ?? o.clusterView().commitIndex,
        metrics: o.metrics,
      }),
    send: (report) => o.raft()?.sendReport(report),
    logger: o.logger.child({ component: 'node-reports' }),
    ...(o.everyMs === undefined ? {} : { everyMs: o.everyMs }),
  });
}
