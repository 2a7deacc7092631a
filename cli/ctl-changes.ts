// `ballast ctl` commands that create and delete pools and listeners and read the audit log: the
// same operations as the panel's forms, with the API as the one validator.
import type { ListenerViewT, MetaT, PoolViewT } from '../web/schemas.js';
import type { CtlClient } from './ctl-client.js';
import { formatTable } from './ctl-table.js';

export const CTL_CHANGES_USAGE = `  create-pool NAME [--scheduler S] [--check http|tcp|none] [--check-path P] [--interval D] [--timeout D]
              [--backend NAME=ADDRESS[,WEIGHT]]...
  delete-pool NAME                        delete a pool no listener routes to
  create-listener NAME BIND (--pool P | --route PREFIX=POOL...) [--mode http|tcp]
  delete-listener NAME
  audit [--limit N]                       who changed what, when and from where (newest first)
`;

export interface ChangeOptions {
  scheduler?: string | undefined;
  check?: string | undefined;
  checkPath?: string | undefined;
  interval?: string | undefined;
  timeout?: string | undefined;
  backend?: string[] | undefined;
  pool?: string | undefined;
  route?: string[] | undefined;
  mode?: string | undefined;
  limit?: string | undefined;
}

export interface CtlOutput {
  json: unknown;
  text: string;
}

interface AuditEntry {
  seq: number;
  at: number;
  user: string;
  via: string;
  from: string;
  action: string;
  target: string;
  detail: string;
}

/** Thrown for a command line that cannot become a request (ctl exits 2 with usage). */
export class ChangeUsageError extends Error {}

const seg = encodeURIComponent;

/** "web1=127.0.0.1:9101,3": weight stays text unless it is a number, so the API names a bad one. */
export function parseBackendArg(arg: string): { name: string; address: string; weight?: number | string } {
  const eq = arg.indexOf('=');
  if (eq <= 0) throw new ChangeUsageError(`--backend "${arg}": expected NAME=ADDRESS[,WEIGHT]`);
  const name = arg.slice(0, eq);
  const [address = '', weight] = arg.slice(eq + 1).split(',');
  if (weight === undefined) return { name, address };
  return { name, address, weight: /^-?[0-9]+$/.test(weight) ? Number(weight) : weight };
}

function parseRouteArg(arg: string): { pathPrefix: string; pool: string } {
  const eq = arg.lastIndexOf('=');
  if (eq <= 0) throw new ChangeUsageError(`--route "${arg}": expected PREFIX=POOL, e.g. /api/=api`);
  return { pathPrefix: arg.slice(0, eq), pool: arg.slice(eq + 1) };
}

function expect(rest: string[], names: string[]): string[] {
  if (rest.length !== names.length) throw new ChangeUsageError(`expects ${names.join(' ')}`);
  return rest;
}

/** Runs one of this module's commands; null when `command` is not one of them. */
export async function runChangeCommand(client: CtlClient, command: string, rest: string[], o: ChangeOptions): Promise<CtlOutput | null> {
  switch (command) {
    case 'create-pool': {
      const [name] = expect(rest, ['NAME']);
      const body: Record<string, unknown> = { name, backends: (o.backend ?? []).map(parseBackendArg) };
      if (o.scheduler !== undefined) body['scheduler'] = o.scheduler;
      const check = o.check ?? 'none';
      if (check !== 'none') {
        body['healthCheck'] = {
          type: check,
          ...(check === 'http' && o.checkPath !== undefined ? { path: o.checkPath } : {}),
          ...(o.interval === undefined ? {} : { interval: o.interval }),
          ...(o.timeout === undefined ? {} : { timeout: o.timeout }),
        };
      }
      const r = await client.call<MetaT & { pool: PoolViewT }>('POST', '/api/v1/pools', body);
      return { json: r, text: `created pool ${r.pool.name} (${r.pool.scheduler}, ${r.pool.backends.length} backends) at state version ${r.version} on ${r.node}\n` };
    }
    case 'delete-pool': {
      const [name] = expect(rest, ['NAME']);
      const r = await client.call<MetaT>('DELETE', `/api/v1/pools/${seg(name!)}`);
      return { json: r, text: `deleted pool ${name} at state version ${r.version}\n` };
    }
    case 'create-listener': {
      const [name, bind] = expect(rest, ['NAME', 'BIND']);
      const mode = o.mode ?? (o.pool !== undefined && o.route === undefined ? 'tcp' : 'http');
      const body: Record<string, unknown> = { name, mode, bind };
      if (o.pool !== undefined && mode === 'tcp') body['pool'] = o.pool;
      else if (o.route !== undefined) body['routes'] = o.route.map(parseRouteArg);
      else if (o.pool !== undefined) body['routes'] = [{ pathPrefix: '/', pool: o.pool }];
      else throw new ChangeUsageError('create-listener needs --pool P or --route PREFIX=POOL');
      const r = await client.call<MetaT & { listener: ListenerViewT }>('POST', '/api/v1/listeners', body);
      return { json: r, text: `created listener ${r.listener.name} (${r.listener.mode} on ${r.listener.bind}) at state version ${r.version} on ${r.node}\n` };
    }
    case 'delete-listener': {
      const [name] = expect(rest, ['NAME']);
      const r = await client.call<MetaT>('DELETE', `/api/v1/listeners/${seg(name!)}`);
      return { json: r, text: `deleted listener ${name} at state version ${r.version}\n` };
    }
    case 'audit': {
      expect(rest, []);
      const r = await client.call<MetaT & { entries: AuditEntry[] }>('GET', `/api/v1/audit?limit=${seg(o.limit ?? '20')}`);
      const rows = r.entries.map((e) => [String(e.seq), new Date(e.at).toISOString(), `${e.user} (${e.via})`, e.from, e.action, e.target, e.detail]);
      return { json: r, text: formatTable(['SEQ', 'AT', 'WHO', 'FROM', 'ACTION', 'TARGET', 'DETAIL'], rows) };
    }
    default:
      return null;
  }
}
