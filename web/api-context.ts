// What every route module shares: the node's deps, the answering node's read metadata, and the one
// write path (every change is proposed as an audited command, so it and its audit entry commit
// together or not at all).
import { StateError } from '../cluster/state/errors.js';
import type { AuditedCommand } from '../cluster/state/types.js';
import type { Authenticator } from './authenticator.js';
import { WebError } from './errors.js';
import type { MetaT } from './schemas.js';
import type { AdminDeps, Principal } from './types.js';

export interface Caller {
  principal: Principal | null;
  ip: string;
}

export interface ApiContext {
  deps: AdminDeps;
  auth: Authenticator;
  now(): number;
  /** Which node answers, at which state version (default: the current one) and commit index. */
  meta(version?: number): MetaT;
  /** Commits `cmd` as the caller and resolves with the state version it made; refusals throw StateError. */
  write(caller: Caller, cmd: AuditedCommand['cmd']): Promise<number>;
}

export function createApiContext(deps: AdminDeps, auth: Authenticator, now: () => number): ApiContext {
  return {
    deps,
    auth,
    now,
    meta: (version) => ({ node: deps.nodeId, version: version ?? deps.store.read().version, commitIndex: deps.clusterView().commitIndex }),
    write: async ({ principal, ip }, cmd) => {
      if (!principal) throw new WebError('WEB_ERR_UNAUTHORIZED', 'log in first');
      const r = await deps.store.propose({ v: 2, op: 'audited', actor: { user: principal.user, via: principal.via, from: ip }, at: now(), cmd });
      if (!r.ok) throw new StateError(r.error.code, r.error.field, r.error.message);
      return r.version;
    },
  };
}
