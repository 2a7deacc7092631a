// Reads a node's own config over its Host to learn its id, admin address and credentials, and asks
// that node's admin API (from the node itself) for readiness and its view of the cluster.
import { parse } from 'yaml';
import { basicAuth, hostHttp } from '../hosts/host-http.js';
import type { Host } from '../hosts/types.js';
import { DeployError } from './errors.js';
import type { ClusterStatus, DeployTarget, NodeAccess } from './types.js';

// Generous: a node in a VM under software emulation on a loaded machine answers in seconds, not ms.
const API_TIMEOUT_MS = 10_000;

interface ConfigShape {
  node?: { id?: unknown; adminListen?: unknown };
  admin?: { user?: unknown; password?: unknown; passwordFile?: unknown };
}

function loopbackFor(listen: string): string {
  const i = listen.lastIndexOf(':');
  const host = listen.slice(0, i).replace(/^\[|\]$/g, '');
  const port = listen.slice(i + 1);
  if (host === '0.0.0.0' || host === '') return `127.0.0.1:${port}`;
  if (host === '::') return `[::1]:${port}`;
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export async function readNodeAccess(target: DeployTarget): Promise<NodeAccess> {
  const { host } = target;
  const r = await host.exec('cat', [target.configPath], { allowFailure: true });
  if (r.code !== 0) throw new DeployError('DEPLOY_ERR_CONFIG', `${host.name}: cannot read ${target.configPath}: ${r.stderr.trim()}`);
  const cfg = parse(r.stdout) as ConfigShape | null;
  const id = cfg?.node?.id;
  const listen = cfg?.node?.adminListen;
  if (typeof id !== 'string' || typeof listen !== 'string') {
    throw new DeployError('DEPLOY_ERR_CONFIG', `${host.name}: ${target.configPath} has no node.id or node.adminListen`);
  }
  let headers: Record<string, string> = {};
  const user = cfg?.admin?.user;
  let password = cfg?.admin?.password;
  if (typeof cfg?.admin?.passwordFile === 'string') {
    password = (await host.exec('cat', [cfg.admin.passwordFile])).stdout.trim();
  }
  if (typeof user === 'string' && typeof password === 'string') headers = basicAuth(user, password);
  return { id, apiBase: `http://${loopbackFor(listen)}`, headers };
}

/** True when the node answers /readyz with 200. */
export async function isReady(host: Host, access: NodeAccess): Promise<boolean> {
  const r = await hostHttp(host, { url: `${access.apiBase}/readyz`, timeoutMs: API_TIMEOUT_MS });
  return r.status === 200;
}

/** The node's view of the cluster, or null when it does not answer. */
export async function clusterStatus(host: Host, access: NodeAccess): Promise<ClusterStatus | null> {
  const r = await hostHttp(host, { url: `${access.apiBase}/api/v1/cluster`, headers: access.headers, timeoutMs: API_TIMEOUT_MS });
  if (r.status !== 200) return null;
  return JSON.parse(r.body) as ClusterStatus;
}

/** Asks the node (the leader) to hand leadership over; `to` null lets it pick the most caught-up voter. */
export async function requestTransfer(host: Host, access: NodeAccess, to: string | null): Promise<void> {
  const r = await hostHttp(host, {
    method: 'POST',
    url: `${access.apiBase}/api/v1/cluster/transfer-leadership`,
    headers: access.headers,
    body: to === null ? {} : { to },
    timeoutMs: 10_000,
  });
  if (r.status < 200 || r.status >= 300) {
    throw new DeployError('DEPLOY_ERR_TRANSFER', `${host.name}: transfer-leadership answered ${r.status || r.error} ${r.body.slice(0, 200)}`);
  }
}
