// /api/v1/users: operators of the cluster (admin or viewer), replicated; passwords kept as scrypt hashes.
import type { UserRecord } from '../cluster/state/types.js';
import type { ApiContext } from './api-context.js';
import { WebError } from './errors.js';
import { hashPassword } from './password.js';
import { created, defineRoute, ok, type ApiRoute } from './route-table.js';
import { Meta, UserCreate, UserList, UserOne, UserParams, UserPatch } from './schemas.js';

const view = (u: Readonly<UserRecord>) => ({ name: u.name, role: u.role, createdAt: u.createdAt, updatedAt: u.updatedAt });

export function userRoutes(api: ApiContext): ApiRoute[] {
  const one = (name: string, version: number) => {
    const u = api.deps.store.readAccess().user(name);
    if (!u) throw new WebError('WEB_ERR_NOT_FOUND', `no user named "${name}"`, { field: 'user' });
    return { ...api.meta(version), user: view(u) };
  };

  return [
    defineRoute({
      method: 'GET',
      url: '/api/v1/users',
      summary: 'List users and their roles',
      tag: 'users',
      access: 'viewer',
      schema: { response: { 200: UserList } },
    }, async () => ok({ ...api.meta(), users: api.deps.store.readAccess().users().map(view) })),
    defineRoute({
      method: 'POST',
      url: '/api/v1/users',
      summary: 'Create a user (409 if the name is taken)',
      tag: 'users',
      access: 'admin',
      schema: { body: UserCreate, response: { 201: UserOne } },
    }, async (ctx) => {
      const at = api.now();
      const user: UserRecord = { name: ctx.body.name, role: ctx.body.role, passwordHash: await hashPassword(ctx.body.password), createdAt: at, updatedAt: at };
      return created(one(user.name, await api.write(ctx, { v: 2, op: 'user.add', user })));
    }),
    defineRoute({
      method: 'PATCH',
      url: '/api/v1/users/:user',
      summary: "Change a user's role or password (a new password ends the user's sessions)",
      tag: 'users',
      access: 'admin',
      schema: { params: UserParams, body: UserPatch, response: { 200: UserOne } },
    }, async (ctx) => {
      const { role, password } = ctx.body;
      const passwordHash = password === undefined ? undefined : await hashPassword(password);
      const cmd = { v: 2 as const, op: 'user.update' as const, name: ctx.params.user, at: api.now(), ...(role ? { role } : {}), ...(passwordHash ? { passwordHash } : {}) };
      return ok(one(ctx.params.user, await api.write(ctx, cmd)));
    }),
    defineRoute({
      method: 'DELETE',
      url: '/api/v1/users/:user',
      summary: 'Delete a user and its API tokens (never the last admin)',
      tag: 'users',
      access: 'admin',
      schema: { params: UserParams, response: { 200: Meta } },
    }, async (ctx) => ok(api.meta(await api.write(ctx, { v: 2, op: 'user.remove', name: ctx.params.user })))),
  ];
}
