// The replicated audit log: who changed what, when and from where, bounded to the newest entries,
// with a summary of each command that never carries secrets or password hashes.
import type { Actor, AuditEntry, AuditedCommand } from './types.js';

/** Entries kept; older ones are dropped (their seq numbers are not reused). */
export const AUDIT_LIMIT = 1000;

export interface AuditSnapshot {
  nextSeq: number;
  entries: AuditEntry[];
}

function changes(obj: Record<string, unknown>): string {
  return Object.entries(obj)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
}

/** What a command does, in words an operator reads in the log. */
export function describeCommand(cmd: AuditedCommand['cmd']): { target: string; detail: string } {
  switch (cmd.op) {
    case 'bootstrap':
      return { target: '', detail: `${cmd.pools.length} pools, ${cmd.listeners.length} listeners` };
    case 'pool.put':
    case 'pool.create':
    case 'pool.replace':
      return { target: cmd.pool.name, detail: `${cmd.pool.scheduler}, ${cmd.pool.backends.length} backends` };
    case 'pool.delete':
      return { target: cmd.pool, detail: '' };
    case 'backend.add':
      return { target: `${cmd.pool}/${cmd.backend.name}`, detail: `${cmd.backend.host}:${cmd.backend.port} weight=${cmd.backend.weight} state=${cmd.backend.state}` };
    case 'backend.patch':
      return { target: `${cmd.pool}/${cmd.backend}`, detail: changes({ ...cmd.changes }) };
    case 'backend.remove':
      return { target: `${cmd.pool}/${cmd.backend}`, detail: '' };
    case 'listener.put':
    case 'listener.create':
    case 'listener.replace':
      return { target: cmd.listener.name, detail: `${cmd.listener.mode} ${cmd.listener.bind.host}:${cmd.listener.bind.port}` };
    case 'listener.delete':
      return { target: cmd.listener, detail: '' };
    case 'listener.edge':
      return { target: cmd.listener, detail: `edge settings (${cmd.edge.routes.length} routes)` };
    case 'cache.purge':
      return { target: cmd.purge.route ?? cmd.purge.listener ?? '*', detail: changes({ listener: cmd.purge.listener, route: cmd.purge.route, prefix: cmd.purge.prefix }) };
    case 'health.set':
      return { target: `${cmd.pool}/${cmd.backend}`, detail: `${cmd.health.status}: ${cmd.health.reason}` };
    case 'access.init':
      return { target: cmd.admin.name, detail: 'first admin' };
    case 'user.add':
      return { target: cmd.user.name, detail: `role=${cmd.user.role}` };
    case 'user.update':
      return { target: cmd.name, detail: changes({ role: cmd.role, password: cmd.passwordHash === undefined ? undefined : 'changed' }) };
    case 'user.remove':
      return { target: cmd.name, detail: '' };
    case 'token.add':
      return { target: cmd.token.id, detail: `"${cmd.token.name}" for ${cmd.token.user} role=${cmd.token.role}` };
    case 'token.revoke':
      return { target: cmd.id, detail: '' };
    case 'cert.put':
      // Never the key (sealed or not): the audit log is shown to viewers.
      return { target: cmd.certificate.name, detail: 'certificate uploaded' };
    case 'cert.delete':
      return { target: cmd.name, detail: '' };
    default: {
      const never: never = cmd;
      return { target: '', detail: JSON.stringify(never) };
    }
  }
}

export class AuditLog {
  private nextSeq: number;
  private entries: AuditEntry[];

  constructor(snap: AuditSnapshot = { nextSeq: 1, entries: [] }) {
    this.nextSeq = snap.nextSeq;
    this.entries = structuredClone(snap.entries);
  }

  snapshot(): AuditSnapshot {
    return { nextSeq: this.nextSeq, entries: this.entries };
  }

  record(actor: Actor, at: number, cmd: AuditedCommand['cmd'], version: number): void {
    const { target, detail } = describeCommand(cmd);
    this.entries.push({ seq: this.nextSeq++, at, user: actor.user, via: actor.via, from: actor.from, action: cmd.op, target, detail, version });
    if (this.entries.length > AUDIT_LIMIT) this.entries = this.entries.slice(-AUDIT_LIMIT);
  }

  list(query: { limit: number; before?: number }): AuditEntry[] {
    const before = query.before ?? Infinity;
    const out: AuditEntry[] = [];
    for (let i = this.entries.length - 1; i >= 0 && out.length < query.limit; i--) {
      const e = this.entries[i]!;
      if (e.seq < before) out.push({ ...e });
    }
    return out;
  }
}
