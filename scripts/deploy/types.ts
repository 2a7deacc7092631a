// Types of the rolling deploy: the nodes it drives, its options and what it reports.
import type { Host } from '../hosts/types.js';

/** One Ballast node as the deploy reaches it. */
export interface DeployTarget {
  host: Host;
  /** The release directory (bin/ballast.js inside); the one it replaces is kept as `<installDir>.prev`. */
  installDir: string;
  /** The node's config, read for its id, admin address and credentials. */
  configPath: string;
  /** Restarts the node's daemon, e.g. ['systemctl', 'restart', 'ballast']. */
  restart: readonly string[];
}

/** What the deploy learned from a node's config file. */
export interface NodeAccess {
  id: string;
  /** The admin API base as the node itself reaches it (0.0.0.0 becomes 127.0.0.1). */
  apiBase: string;
  headers: Record<string, string>;
}

export interface DeployOptions {
  /** The release: a tarball made by scripts/image/app.sh (dist, bin, production node_modules, VERSION). */
  tarball: string;
  targets: readonly DeployTarget[];
  /** Bound on one node coming back ready and caught up after its restart. Default 180 s (VMs under TCG). */
  nodeTimeoutMs?: number;
  /** Bound on the cluster being healthy before anything is touched. Default 120 s. */
  precheckTimeoutMs?: number;
  /** Bound on a leadership transfer. Default 60 s. */
  transferTimeoutMs?: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface NodeStep {
  node: string;
  wasLeader: boolean;
  /** ms from the restart to ready and caught up (or to giving up). */
  restartMs: number;
  /** ms the leadership transfer took, for the leader. */
  transferMs: number | null;
  outcome: 'updated' | 'rolled-back';
}

export interface DeployReport {
  version: string;
  order: string[];
  steps: NodeStep[];
  totalMs: number;
}

/** A node's view of the cluster (GET /api/v1/cluster), the fields the deploy reads. */
export interface ClusterStatus {
  /** The node that answered. */
  node: string;
  leader: string | null;
  term: number;
  commitIndex: number;
  /** On the leader: ms it has led, by its own clock (absent from nodes older than this field). */
  leadingForMs?: number | null;
  /** heldForMs: on the holder, ms since it raised the VIP, by its own clock (absent from older nodes). */
  vip: { address: string | null; holder: string | null; heldForMs?: number | null };
  nodes: { id: string; role: string; lastContactMs: number | null; matchIndex: number | null }[];
}
