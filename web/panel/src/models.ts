// What the panel draws, read from the API's JSON. The adapters accept the documented shapes and
// tolerate missing optional parts, so a newer server field never breaks an older panel.
import type { ClusterView as NodeClusterView } from '../../../cluster/node/types.js';

/** GET /api/v1/cluster as the panel uses it; `nodeId` is the node that answered. */
export type ClusterView = NodeClusterView;

export type AdminState = 'active' | 'drain' | 'disabled';
export type Health = 'up' | 'down' | 'unknown';

export interface BackendModel {
  name: string;
  address: string;
  weight: number;
  state: AdminState;
  health: Health;
  healthReason: string;
  /** Epoch ms of the last health transition, when known. */
  healthSince: number | null;
  backup: boolean;
  /** In-flight work as the API reports it (null when the workers did not answer). */
  active: number | null;
}

export interface PoolModel {
  name: string;
  scheduler: string;
  /** One line such as "http GET /health every 2s"; "" when unchecked. */
  healthCheck: string;
  backends: BackendModel[];
}

export interface ListenerModel {
  name: string;
  mode: string;
  bind: string;
  /** The pool (tcp) or the routes (http), as one line. */
  target: string;
  /** Routes with a weighted split between pools, by their index in the listener's routes. */
  splits: SplitRouteModel[];
}

export interface SplitRouteModel {
  index: number;
  /** "host/path" of the route. */
  label: string;
  targets: { pool: string; weight: number }[];
}

export interface NodeStats {
  cpu: { percent: number; cores: number };
  memory: { total: number; used: number };
  load: number[];
  uptimeSec: number | null;
  interfaces: { name: string; ip4: string; up: boolean; rxBytesPerSec: number | null; txBytesPerSec: number | null }[];
}

type Json = Record<string, unknown>;

const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const text = (v: unknown, fallback = ''): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : fallback);
const num = (v: unknown, fallback = 0): number => (typeof v === 'number' && Number.isFinite(v) ? v : fallback);
const numOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

function hostPort(v: unknown): string {
  if (typeof v === 'string') return v;
  const o = obj(v);
  if (o['host'] === undefined) return '';
  const host = text(o['host']);
  return `${host.includes(':') ? `[${host}]` : host}:${num(o['port'])}`;
}

function asState(v: unknown): AdminState {
  return v === 'drain' || v === 'disabled' ? v : 'active';
}

function asHealth(v: unknown): Health {
  return v === 'up' || v === 'down' ? v : 'unknown';
}

function durationText(v: unknown): string {
  if (typeof v === 'number') return v % 1000 === 0 ? `${v / 1000}s` : `${v}ms`;
  return text(v);
}

export function backendFromApi(raw: unknown): BackendModel {
  const b = obj(raw);
  // health is documented as "up|down|unknown"; a server may also send the whole record.
  const h = typeof b['health'] === 'object' ? obj(b['health']) : { status: b['health'], reason: b['healthReason'], since: b['healthSince'] };
  return {
    name: text(b['name']),
    address: text(b['address']) || hostPort({ host: b['host'], port: b['port'] }),
    weight: num(b['weight'], 1),
    state: asState(b['state']),
    health: asHealth(h['status']),
    healthReason: text(h['reason']),
    healthSince: num(h['since']) > 0 ? num(h['since']) : null,
    backup: b['backup'] === true,
    active: numOrNull(b['active']),
  };
}

export function poolFromApi(raw: unknown): PoolModel {
  const p = obj(raw);
  const hc = p['healthCheck'] ? obj(p['healthCheck']) : null;
  let check = '';
  if (hc) {
    const every = durationText(hc['intervalMs'] ?? hc['interval']);
    check = hc['type'] === 'http' ? `http ${text(hc['method'], 'GET')} ${text(hc['path'], '/')} every ${every}` : `tcp every ${every}`;
  }
  return { name: text(p['name']), scheduler: text(p['scheduler']), healthCheck: check, backends: arr(p['backends']).map(backendFromApi) };
}

export function listenerFromApi(raw: unknown): ListenerModel {
  const l = obj(raw);
  const splits: SplitRouteModel[] = [];
  const routes = arr(l['routes']).map((r, index) => {
    const o = obj(r);
    const label = `${text(o['host'])}${text(o['pathPrefix'], '/')}`;
    const split = arr(o['split']).map((t) => ({ pool: text(obj(t)['pool']), weight: num(obj(t)['weight']) }));
    if (split.length === 0) return `${label} → ${text(o['pool'])}`;
    splits.push({ index, label, targets: split });
    const total = split.reduce((n, t) => n + t.weight, 0) || 1;
    return `${label} → ${split.map((t) => `${t.pool} ${Math.round((t.weight * 100) / total)}%`).join(' · ')}`;
  });
  return { name: text(l['name']), mode: text(l['mode']), bind: hostPort(l['bind']), target: l['mode'] === 'tcp' ? `→ ${text(l['pool'])}` : routes.join(', '), splits };
}

/** Lists come back either bare or wrapped ({ pools: [...] }). */
export function listFromApi(raw: unknown, key: string): unknown[] {
  return Array.isArray(raw) ? raw : arr(obj(raw)[key]);
}

const ROLES = ['leader', 'follower', 'candidate', 'pre-candidate', 'learner', 'unknown'] as const;

export function clusterFromApi(raw: unknown): ClusterView {
  const c = obj(raw);
  const vip = obj(c['vip']);
  return {
    // The API names the answering node `node` (every read carries it); the node's own view says nodeId.
    nodeId: text(c['node'] ?? c['nodeId']),
    leader: typeof c['leader'] === 'string' ? c['leader'] : null,
    term: num(c['term']),
    commitIndex: num(c['commitIndex']),
    leadingForMs: numOrNull(c['leadingForMs']),
    vip: {
      address: typeof vip['address'] === 'string' ? vip['address'] : null,
      holder: typeof vip['holder'] === 'string' ? vip['holder'] : null,
      heldForMs: numOrNull(vip['heldForMs']),
    },
    nodes: arr(c['nodes']).map((raw_) => {
      const n = obj(raw_);
      const role = ROLES.find((r) => r === n['role']) ?? 'unknown';
      const roleFrom = n['roleFrom'] === 'raft' || n['roleFrom'] === 'report' ? n['roleFrom'] : null;
      return { id: text(n['id']), address: text(n['address']), role, roleFrom, lastContactMs: numOrNull(n['lastContactMs']), matchIndex: numOrNull(n['matchIndex']) };
    }),
  };
}

export interface SessionInfo {
  user: string;
  role: string;
  csrfToken: string | null;
}

export function sessionFromApi(raw: unknown): SessionInfo {
  const s = obj(raw);
  const inner = s['session'] ? obj(s['session']) : s;
  return { user: text(inner['user']), role: text(inner['role'], 'viewer'), csrfToken: typeof inner['csrfToken'] === 'string' ? inner['csrfToken'] : null };
}

export function nodeStatsFromApi(raw: unknown): NodeStats {
  const s = obj(raw);
  const cpu = obj(s['cpu']);
  const mem = obj(s['memory']);
  return {
    cpu: { percent: num(cpu['percent']), cores: num(cpu['cores']) },
    memory: { total: num(mem['total']), used: num(mem['used']) },
    load: arr(s['load']).map((v) => num(v)),
    uptimeSec: numOrNull(s['uptimeSec']),
    interfaces: arr(s['interfaces']).map((raw_) => {
      const i = obj(raw_);
      return { name: text(i['name']), ip4: text(i['ip4']), up: i['up'] === true, rxBytesPerSec: numOrNull(i['rxBytesPerSec']), txBytesPerSec: numOrNull(i['txBytesPerSec']) };
    }),
  };
}

export type ReportStatus = 'self' | 'fresh' | 'stale' | 'unreachable';

/** One node of GET /api/v1/nodes: what it last reported about itself, and how long ago. */
export interface NodeReportModel {
  id: string;
  status: ReportStatus;
  ageMs: number | null;
  /** Null when the node never reported (or its report carried no Raft view). */
  raft: { role: ClusterView['nodes'][number]['role']; term: number; leader: string | null; commitIndex: number; lastIndex: number; leaderContactMs: number | null } | null;
  /** The reporting node's clock when it made the report (only for rates between two of its reports). */
  at: number | null;
  stats: NodeStats | null;
  traffic: { pool: string; backend: string; requests: number; errors: number }[] | null;
}

export interface NodesModel {
  answeredBy: string;
  reportEveryMs: number;
  nodes: NodeReportModel[];
}

const REPORT_STATUSES = ['self', 'fresh', 'stale', 'unreachable'] as const;

export function nodesFromApi(raw: unknown): NodesModel {
  const o = obj(raw);
  return {
    answeredBy: text(o['node']),
    reportEveryMs: num(o['reportEveryMs'], 2000),
    nodes: arr(o['nodes']).map((raw_) => {
      const n = obj(raw_);
      const rep = n['report'] ? obj(n['report']) : null;
      const r = rep?.['raft'] ? obj(rep['raft']) : null;
      const traffic = rep && Array.isArray(rep['traffic']) ? rep['traffic'] : null;
      return {
        id: text(n['id']),
        status: REPORT_STATUSES.find((s) => s === n['status']) ?? 'unreachable',
        ageMs: numOrNull(n['ageMs']),
        raft: r
          ? {
              role: ROLES.find((x) => x === r['role']) ?? 'unknown',
              term: num(r['term']),
              leader: typeof r['leader'] === 'string' ? r['leader'] : null,
              commitIndex: num(r['commitIndex']),
              lastIndex: num(r['lastIndex']),
              leaderContactMs: numOrNull(r['leaderContactMs']),
            }
          : null,
        at: rep ? numOrNull(rep['at']) : null,
        stats: rep?.['stats'] ? nodeStatsFromApi(rep['stats']) : null,
        traffic: traffic ? traffic.map((t) => ({ pool: text(obj(t)['pool']), backend: text(obj(t)['backend']), requests: num(obj(t)['requests']), errors: num(obj(t)['errors']) })) : null,
      };
    }),
  };
}
