// Types of the appliance's first boot: what a seed (NoCloud ISO or config drive) asks of this VM.

export interface SeedFiles {
  /** Which kind of seed the files came from. */
  kind: 'nocloud' | 'configdrive';
  /** NoCloud meta-data (YAML) or the config drive's openstack/latest/meta_data.json. */
  metaData: string | null;
  /** cloud-config user-data (starts with `#cloud-config`). */
  userData: string | null;
  /** NoCloud network-config (netplan-style version 2). */
  networkConfig: string | null;
}

export interface FileToWrite {
  path: string;
  content: Buffer;
  mode: number;
  /** `user[:group]` by name, or null for root. */
  owner: string | null;
  append: boolean;
}

export interface NetworkUnit {
  /** File name under /etc/systemd/network. */
  name: string;
  content: string;
}

export interface FirstBootPlan {
  instanceId: string;
  hostname: string | null;
  /** Keys authorized for root's SSH login. */
  rootKeys: string[];
  files: FileToWrite[];
  network: NetworkUnit[];
  /** Keys of the user-data this program does not apply (logged, never silently dropped). */
  ignored: string[];
}

export type FirstBootErrorCode = 'IMAGE_ERR_SEED' | 'IMAGE_ERR_NETWORK_CONFIG' | 'IMAGE_ERR_OWNER';
