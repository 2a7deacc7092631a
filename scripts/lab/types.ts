// Shapes of the network-namespace lab: hosts, the whole topology, and what `status` reports.

export type LabRole = 'node' | 'backend' | 'client';

export interface LabHost {
  /** Short name: n1, n2, n3, b1, b2, c1. Also the bridge-side veth's name inside the bridge namespace. */
  name: string;
  role: LabRole;
  /** The host's network namespace, `${prefix}-${name}`. */
  ns: string;
  /** The interface inside `ns` that faces the bridge. */
  iface: string;
  /** 198.18.0.11 */
  address: string;
  /** 198.18.0.11/24 */
  cidr: string;
}

export interface Lab {
  prefix: string;
  /** Holds the Linux bridge `br0` that joins every host. */
  bridgeNs: string;
  bridge: string;
  /** 198.18.0.100/24: the VIP the nodes contend for (not configured by the lab itself). */
  vip: string;
  hosts: LabHost[];
  nodes: LabHost[];
  backends: LabHost[];
  client: LabHost;
}

export interface LabOptions {
  /** Namespace name prefix, so parallel labs do not collide. Default "bl". Lowercase letters and digits. */
  prefix?: string;
}

export interface HostStatus {
  host: LabHost;
  present: boolean;
  /** IPv4 addresses on the host's interface, as a.b.c.d/nn. */
  addresses: string[];
  /** The bridge-side port (the "cable") is up. */
  linkUp: boolean;
}

export interface LabStatus {
  lab: Lab;
  bridgePresent: boolean;
  hosts: HostStatus[];
  /** Namespaces that carry the VIP's IP right now. */
  vipHolders: string[];
  /** Every namespace on the machine whose name starts with the lab's prefix. */
  namespaces: string[];
}
