// The node's configuration after loading: parsed, validated, defaults applied.
import type { HostPort, ListenerSpec, PoolSpec } from '../lb/types.js';

export interface PeerConfig {
  id: string;
  address: HostPort;
}

export interface VipConfig {
  /** e.g. 198.18.0.100/24 */
  address: string;
  interface: string;
  driver: 'linux' | 'noop';
  /** Planned moves: longest wait for work in flight on the VIP before releasing it (cluster.vip.handOverDrain). Default 2000. */
  handOverDrainMs?: number;
}

export interface NodeConfig {
  node: {
    id: string;
    dataDir: string;
    adminListen: HostPort;
    clusterListen: HostPort | null;
    workers: number;
    /** Replaces the host of wildcard listener binds on this node; null keeps them. */
    listenHost: string | null;
  };
  cluster: {
    secret: string | null;
    peers: PeerConfig[];
    vip: VipConfig | null;
    heartbeatMs: number;
    electionTimeoutMs: number;
    /** Width of the election timeout's random spread. */
    electionJitterMs: number;
    snapshotCount: number;
    /** Bound on a peer dial, connect and TLS-PSK handshake (cluster.peerConnectTimeout). */
    peerConnectTimeoutMs: number;
  };
  admin: { user: string; password: string | null };
  bootstrap: { listeners: ListenerSpec[]; pools: PoolSpec[] };
  /** Where it was read from, for messages. */
  source: string;
}
