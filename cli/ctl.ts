// `ballast ctl`: drive a running cluster through its admin API. Tables for people, --json for
// scripts; exit 0 on success, 1 when the API refuses (its message on stderr), 2 on usage errors,
// 3 when the API cannot be reached.
import { parseArgs } from 'node:util';
import { certCommand, CERT_USAGE } from './ctl-cert.js';
import type { BackendViewT, ListenerViewT, MetaT, NodesResponseT, PoolViewT } from '../web/schemas.js';
import { nodesText } from './ctl-nodes.js';
import { CTL_CHANGES_USAGE, ChangeUsageError, runChangeCommand, type ChangeOptions } from './ctl-changes.js';
import { CtlClient, CtlError, type CtlAuth } from './ctl-client.js';
import { formatTable } from './ctl-table.js';

export const CTL_USAGE = `usage: ballast ctl [--api URL] [--token T | --user U --password P] [--json] <command>

commands:
  status                                  leader, term, commit index, VIP and nodes; each node's own role and host
  pools                                   pools with backend counts, health and active connections
  backends POOL                           backends of a pool: address, weight, state, health, active
  listeners                               listeners and the ports the workers bound
  add-backend POOL NAME ADDRESS [--weight N]
  remove-backend POOL NAME
  weight POOL NAME N                      set a backend's weight (0..256), live
  drain POOL NAME                         no new work; in-flight work finishes
  enable POOL NAME                        back to active
  disable POOL NAME                       no new work
  transfer-leadership [--to ID]           hand leadership and the VIP to another node
${CTL_CHANGES_USAGE}${CERT_USAGE}
defaults: --api $BALLAST_API or http://127.0.0.1:9001, --token $BALLAST_TOKEN,
          --user $BALLAST_USER, --password $BALLAST_PASSWORD
exit codes: 0 done, 1 the API refused (message on stderr), 2 usage, 3 API unreachable
`;

class UsageError extends Error {}

interface ClusterBody extends MetaT {
  leader: string | null;
  term: number;
  vip: { address: string | null; holder: string | null };
  nodes: { id: string; address: string; role: string; roleFrom: 'raft' | 'report' | null; lastContactMs: number | null; matchIndex: number | null }[];
}

const dash = (v: string | number | null | undefined) => (v === null || v === undefined || v === '' ? '-' : String(v));

function statusText(c: ClusterBody): string {
  const head = `answered by ${c.node}: leader ${dash(c.leader)}, term ${c.term}, commit index ${c.commitIndex}, state version ${c.version}, VIP ${c.vip.address ? `${c.vip.address} on ${dash(c.vip.holder)}` : 'none'}\n\n`;
  const rows = c.nodes.map((n) => [n.id, n.address, n.roleFrom === 'report' ? `${n.role} (its report)` : n.role, n.lastContactMs === null ? '-' : `${n.lastContactMs}ms`, dash(n.matchIndex)]);
  return head + formatTable(['NODE', 'ADDRESS', 'ROLE', 'LAST CONTACT', 'MATCH INDEX'], rows);
}

function poolsText(pools: PoolViewT[]): string {
  const rows = pools.map((p) => {
    const up = p.backends.filter((b) => b.health.status === 'up').length;
    const active = p.backends.some((b) => b.active === null) ? '-' : String(p.backends.reduce((n, b) => n + (b.active ?? 0), 0));
    return [p.name, p.scheduler, String(p.backends.length), p.healthCheck ? `${up}/${p.backends.length}` : 'unchecked', active];
  });
  return formatTable(['POOL', 'SCHEDULER', 'BACKENDS', 'UP', 'ACTIVE'], rows);
}

function backendsText(backends: BackendViewT[]): string {
  const rows = backends.map((b) => [b.name, b.address, String(b.weight), b.state, b.health.status, dash(b.active), b.health.reason]);
  return formatTable(['BACKEND', 'ADDRESS', 'WEIGHT', 'STATE', 'HEALTH', 'ACTIVE', 'REASON'], rows);
}

function listenersText(listeners: ListenerViewT[]): string {
  const rows = listeners.map((l) => [l.name, l.mode, l.bind, dash(l.port), l.pool ?? l.routes.map((r) => `${r.host ?? ''}${r.pathPrefix}->${r.pool}`).join(' ')]);
  return formatTable(['LISTENER', 'MODE', 'BIND', 'PORT', 'POOLS'], rows);
}

/** Numbers go to the API as numbers; anything else as written, so the API's validator names the problem. */
const numberOr = (text: string): number | string => (/^-?[0-9]+$/.test(text) ? Number(text) : text);

function args(positionals: string[], names: string[]): string[] {
  if (positionals.length !== names.length) throw new UsageError(`expects ${names.length ? names.join(' ') : 'no arguments'}`);
  return positionals;
}

const seg = encodeURIComponent;

interface CertOptions {
  cert?: string | undefined;
  key?: string | undefined;
  replace?: boolean | undefined;
}

async function run(client: CtlClient, command: string, rest: string[], opts: { weight?: string | undefined; to?: string | undefined } & ChangeOptions & CertOptions): Promise<{ json: unknown; text: string }> {
  switch (command) {
    case 'cert':
      try {
        return await certCommand(client, rest, opts);
      } catch (err) {
        if (err instanceof RangeError) throw new UsageError(err.message);
        throw err;
      }
    case 'status': {
      args(rest, []);
      const c = await client.call<ClusterBody>('GET', '/api/v1/cluster');
      // A node from before GET /nodes existed still answers the Raft view.
      const reports = await client.call<NodesResponseT>('GET', '/api/v1/nodes').catch(() => null);
      return { json: reports ? { ...c, reports: reports.nodes } : c, text: statusText(c) + (reports ? `\n${nodesText(reports)}` : '') };
    }
    case 'pools': {
      args(rest, []);
      const r = await client.call<MetaT & { pools: PoolViewT[] }>('GET', '/api/v1/pools');
      return { json: r, text: poolsText(r.pools) };
    }
    case 'backends': {
      const [pool] = args(rest, ['POOL']);
      const r = await client.call<MetaT & { pool: PoolViewT }>('GET', `/api/v1/pools/${seg(pool!)}`);
      return { json: r, text: backendsText(r.pool.backends) };
    }
    case 'listeners': {
      args(rest, []);
      const r = await client.call<MetaT & { listeners: ListenerViewT[] }>('GET', '/api/v1/listeners');
      return { json: r, text: listenersText(r.listeners) };
    }
    case 'add-backend': {
      const [pool, name, address] = args(rest, ['POOL', 'NAME', 'ADDRESS']);
      const body = { name, address, ...(opts.weight === undefined ? {} : { weight: numberOr(opts.weight) }) };
      const r = await client.call<MetaT & { backend: BackendViewT }>('POST', `/api/v1/pools/${seg(pool!)}/backends`, body);
      return { json: r, text: `added ${pool}/${name} (${r.backend.address}, weight ${r.backend.weight}) at state version ${r.version}\n` };
    }
    case 'remove-backend': {
      const [pool, name] = args(rest, ['POOL', 'NAME']);
      const r = await client.call<MetaT>('DELETE', `/api/v1/pools/${seg(pool!)}/backends/${seg(name!)}`);
      return { json: r, text: `removed ${pool}/${name} at state version ${r.version}\n` };
    }
    case 'weight': {
      const [pool, name, weight] = args(rest, ['POOL', 'NAME', 'N']);
      const r = await client.call<MetaT & { backend: BackendViewT }>('PATCH', `/api/v1/pools/${seg(pool!)}/backends/${seg(name!)}`, { weight: numberOr(weight!) });
      return { json: r, text: `${pool}/${name} weight ${r.backend.weight} at state version ${r.version}\n` };
    }
    case 'drain':
    case 'enable':
    case 'disable': {
      const [pool, name] = args(rest, ['POOL', 'NAME']);
      const state = command === 'drain' ? 'drain' : command === 'enable' ? 'active' : 'disabled';
      const r = await client.call<MetaT & { backend: BackendViewT }>('PATCH', `/api/v1/pools/${seg(pool!)}/backends/${seg(name!)}`, { state });
      return { json: r, text: `${pool}/${name} is ${r.backend.state} at state version ${r.version}\n` };
    }
    case 'transfer-leadership': {
      args(rest, []);
      const r = await client.call<MetaT & { to: string }>('POST', '/api/v1/cluster/transfer-leadership', opts.to === undefined ? {} : { to: opts.to });
      return { json: r, text: `handing leadership to ${r.to}; \`ballast ctl status\` shows when it is done\n` };
    }
    default: {
      const out = await runChangeCommand(client, command, rest, opts);
      if (out) return out;
      throw new UsageError(`unknown command "${command}"`);
    }
  }
}

export async function runCtl(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        api: { type: 'string' },
        token: { type: 'string' },
        user: { type: 'string' },
        password: { type: 'string' },
        json: { type: 'boolean', default: false },
        weight: { type: 'string' },
        to: { type: 'string' },
        cert: { type: 'string' },
        key: { type: 'string' },
        replace: { type: 'boolean', default: false },
        scheduler: { type: 'string' },
        check: { type: 'string' },
        'check-path': { type: 'string' },
        interval: { type: 'string' },
        timeout: { type: 'string' },
        backend: { type: 'string', multiple: true },
        pool: { type: 'string' },
        route: { type: 'string', multiple: true },
        mode: { type: 'string' },
        limit: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    process.stderr.write(`ballast ctl: ${(err as Error).message}\n\n${CTL_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help) {
    process.stdout.write(CTL_USAGE);
    return 0;
  }
  if (!command) {
    process.stderr.write(CTL_USAGE);
    return 2;
  }
  const token = values.token ?? env['BALLAST_TOKEN'];
  const user = values.user ?? env['BALLAST_USER'];
  const password = values.password ?? env['BALLAST_PASSWORD'];
  if (user !== undefined && password === undefined) {
    process.stderr.write('ballast ctl: --user needs --password (or BALLAST_PASSWORD)\n');
    return 2;
  }
  const auth: CtlAuth = token ? { kind: 'bearer', token } : user !== undefined && password !== undefined ? { kind: 'basic', user, password } : { kind: 'none' };
  const client = new CtlClient(values.api ?? env['BALLAST_API'] ?? 'http://127.0.0.1:9001', auth);
  try {
    const out = await run(client, command, rest, {
      weight: values.weight,
      to: values.to,
      scheduler: values.scheduler,
      check: values.check,
      checkPath: values['check-path'],
      interval: values.interval,
      timeout: values.timeout,
      backend: values.backend,
      pool: values.pool,
      route: values.route,
      mode: values.mode,
      limit: values.limit,
      cert: values.cert,
      key: values.key,
      replace: values.replace,
    });
    process.stdout.write(values.json ? `${JSON.stringify(out.json, null, 2)}\n` : out.text);
    return 0;
  } catch (err) {
    if (err instanceof UsageError || err instanceof ChangeUsageError) {
      process.stderr.write(`ballast ctl ${command}: ${err.message}\n\n${CTL_USAGE}`);
      return 2;
    }
    if (err instanceof CtlError) {
      if (values.json && err.kind === 'api') process.stdout.write(`${JSON.stringify({ error: { code: err.code, message: err.message, field: err.field } }, null, 2)}\n`);
      process.stderr.write(`ballast ctl: ${err.message}${err.code ? ` [${err.code}]` : ''}\n`);
      return err.kind === 'api' ? 1 : 3;
    }
    throw err;
  }
}
