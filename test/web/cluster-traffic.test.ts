// Cluster-wide traffic in the panel: per-node rates from successive reports of cumulative counters
// (each node's own clock), summed over the nodes reporting now; stale and unreachable nodes and a
// node's first report are left out and named; a counter that restarted counts from zero.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClusterTraffic } from '../../web/panel/src/cluster-traffic.js';
import { nodesFromApi, type NodeReportModel } from '../../web/panel/src/models.js';

function node(id: string, status: NodeReportModel['status'], at: number, requests: number, errors: number): unknown {
  return {
    id,
    status,
    ageMs: 0,
    report: { node: id, at, raft: { role: 'follower', term: 1, leader: 'n1', commitIndex: 1, lastIndex: 1, leaderContactMs: 0 }, stats: null, traffic: [{ pool: 'web', backend: 'a', requests, errors }] },
  };
}
const push = (t: ClusterTraffic, ...nodes: unknown[]) => t.push(nodesFromApi({ node: 'n1', reportEveryMs: 2000, nodes }).nodes);

test('sums per-node rates over the nodes that report now', () => {
  const t = new ClusterTraffic();
  let v = push(t, node('n1', 'self', 1000, 100, 0), node('n2', 'fresh', 50_000, 10, 0), node('n3', 'unreachable', 9000, 5, 5));
  assert.deepEqual(v.rows, [], 'one report per node gives no rate yet');
  assert.deepEqual(v.missing, ['n1', 'n2', 'n3']);
  // n1: +200 in 2 s = 100/s; n2 (its own clock): +40 in 4 s = 10/s, 4 of them 5xx = 1/s.
  v = push(t, node('n1', 'self', 3000, 300, 0), node('n2', 'fresh', 54_000, 50, 4), node('n3', 'unreachable', 9000, 5, 5));
  assert.deepEqual(v.counted, ['n1', 'n2']);
  assert.deepEqual(v.missing, ['n3']);
  assert.equal(v.rows.length, 1);
  assert.equal(v.rows[0]?.rps, 110);
  assert.ok(Math.abs((v.rows[0]?.errorRate ?? 0) - 1 / 110) < 1e-9);
  // The same reports again (the panel asks more often than nodes report): the same rates.
  assert.equal(push(t, node('n1', 'self', 3000, 300, 0), node('n2', 'fresh', 54_000, 50, 4)).rows[0]?.rps, 110);
  // n2 goes stale: left out. n1's workers restarted: its counter counts from zero.
  v = push(t, node('n1', 'self', 5000, 20, 0), node('n2', 'stale', 54_000, 50, 4));
  assert.deepEqual(v.missing, ['n2']);
  assert.equal(v.rows[0]?.rps, 10);
});
