// The replicated users, API tokens and session secret: applies access commands deterministically
// and keeps the invariants the web edge relies on (an admin always exists, a token never outranks
// its user, a removed user's tokens go with it).
import { StateError } from './errors.js';
import type { AccessCommand, Role, TokenRecord, UserRecord } from './types.js';

export interface AccessSnapshot {
  secret: string | null;
  users: UserRecord[];
  tokens: TokenRecord[];
}

const RANK: Record<Role, number> = { viewer: 0, admin: 1 };

export class AccessBook {
  private secret: string | null;
  private readonly users = new Map<string, UserRecord>();
  private readonly tokens = new Map<string, TokenRecord>();

  constructor(snap: AccessSnapshot = { secret: null, users: [], tokens: [] }) {
    this.secret = snap.secret;
    for (const u of snap.users) this.users.set(u.name, structuredClone(u));
    for (const t of snap.tokens) this.tokens.set(t.id, structuredClone(t));
  }

  snapshot(): AccessSnapshot {
    return { secret: this.secret, users: [...this.users.values()], tokens: [...this.tokens.values()] };
  }

  sessionSecret(): string | null {
    return this.secret;
  }

  user(name: string): Readonly<UserRecord> | undefined {
    return this.users.get(name);
  }

  listUsers(): UserRecord[] {
    return [...this.users.values()].map((u) => structuredClone(u));
  }

  token(id: string): Readonly<TokenRecord> | undefined {
    return this.tokens.get(id);
  }

  listTokens(): TokenRecord[] {
    return [...this.tokens.values()].map((t) => structuredClone(t));
  }

  apply(cmd: AccessCommand): void {
    switch (cmd.op) {
      case 'access.init':
        if (this.secret !== null) throw new StateError('STATE_ERR_CONFLICT', 'secret', 'access is already initialized for this cluster');
        if (cmd.admin.role !== 'admin') throw new StateError('STATE_ERR_INVALID', 'admin.role', 'the first user must be an admin');
        this.secret = cmd.secret;
        this.users.set(cmd.admin.name, structuredClone(cmd.admin));
        return;
      case 'user.add':
        if (this.users.has(cmd.user.name)) throw new StateError('STATE_ERR_CONFLICT', 'name', `user "${cmd.user.name}" already exists`);
        this.users.set(cmd.user.name, structuredClone(cmd.user));
        return;
      case 'user.update': {
        const user = this.requireUser(cmd.name);
        if (cmd.role === 'viewer' && user.role === 'admin') this.requireAnotherAdmin(cmd.name, 'role', 'demote');
        if (cmd.role !== undefined) user.role = cmd.role;
        if (cmd.passwordHash !== undefined) user.passwordHash = cmd.passwordHash;
        user.updatedAt = cmd.at;
        // A demoted user's tokens must not keep the old role.
        for (const t of this.tokens.values()) if (t.user === user.name && RANK[t.role] > RANK[user.role]) t.role = user.role;
        return;
      }
      case 'user.remove': {
        const user = this.requireUser(cmd.name);
        if (user.role === 'admin') this.requireAnotherAdmin(cmd.name, 'user', 'remove');
        this.users.delete(cmd.name);
        for (const [id, t] of this.tokens) if (t.user === cmd.name) this.tokens.delete(id);
        return;
      }
      case 'token.add': {
        const owner = this.requireUser(cmd.token.user);
        if (this.tokens.has(cmd.token.id)) throw new StateError('STATE_ERR_CONFLICT', 'id', `token "${cmd.token.id}" already exists`);
        if (RANK[cmd.token.role] > RANK[owner.role]) {
          throw new StateError('STATE_ERR_INVALID', 'role', `a token of user "${owner.name}" (${owner.role}) cannot have role ${cmd.token.role}`);
        }
        this.tokens.set(cmd.token.id, structuredClone(cmd.token));
        return;
      }
      case 'token.revoke':
        if (!this.tokens.delete(cmd.id)) throw new StateError('STATE_ERR_NOT_FOUND', 'token', `no token with id "${cmd.id}"`);
        return;
      default: {
        const never: never = cmd;
        throw new StateError('STATE_ERR_INVALID', 'op', `unknown access command ${JSON.stringify(never)}`);
      }
    }
  }

  private requireUser(name: string): UserRecord {
    const user = this.users.get(name);
    if (!user) throw new StateError('STATE_ERR_NOT_FOUND', 'user', `no user named "${name}"`);
    return user;
  }

  private requireAnotherAdmin(name: string, field: string, verb: string): void {
    const others = [...this.users.values()].some((u) => u.name !== name && u.role === 'admin');
    if (!others) throw new StateError('STATE_ERR_CONFLICT', field, `cannot ${verb} "${name}": it is the last admin; make another user admin first`);
  }
}
