// `ballast check --config FILE`: validate a node config without starting anything, as `nginx -t` and
// `haproxy -c` do, so a deploy or provisioner can refuse a bad file before a restart depends on it.
// Exit 0 with a one-screen summary, or 2 with the same error `ballast start` would give.
import type { NodeConfig } from '../config/types.js';
import { loadConfigForCommand } from './config-file.js';

export function summarizeConfig(c: NodeConfig): string {
  const peers = c.cluster.peers.map((p) => p.id).join(', ');
  const vip = c.cluster.vip ? `${c.cluster.vip.address} on ${c.cluster.vip.interface} (${c.cluster.vip.driver})` : 'none';
  return [
    `node ${c.node.id}: admin ${c.node.adminListen.host}:${c.node.adminListen.port}, data ${c.node.dataDir}, ${c.node.workers} worker(s) on this machine`,
    `cluster: ${c.cluster.peers.length === 1 ? 'single node' : `${c.cluster.peers.length} voters (${peers})`}; VIP ${vip}`,
    `raft: heartbeat ${c.cluster.heartbeatMs} ms, election timeout ${c.cluster.electionTimeoutMs} ms (+ up to ${c.cluster.electionJitterMs} ms), peer connect timeout ${c.cluster.peerConnectTimeoutMs} ms`,
    `bootstrap: ${c.bootstrap.listeners.length} listener(s), ${c.bootstrap.pools.length} pool(s) (applied only to an empty cluster)`,
  ].join('\n');
}

export function runCheckConfig(configPath: string): number {
  const config = loadConfigForCommand('check', configPath);
  if (config === null) return 2;
  process.stdout.write(`${configPath}: ok\n${summarizeConfig(config)}\n`);
  return 0;
}
