// /api/v1/tokens: bearer API tokens for scripts and Prometheus. The secret is shown once, at
// creation; the state keeps only its hash.
import type { TokenRecord } from '../cluster/state/types.js';
import type { ApiContext } from './api-context.js';
import { newApiToken } from './api-token.js';
import { WebError } from './errors.js';
import { created, defineRoute, ok, type ApiRoute } from './route-table.js';
import { Meta, TokenCreate, TokenCreated, TokenList, TokenParams } from './schemas.js';

const view = (t: Readonly<TokenRecord>) => ({ id: t.id, name: t.name, user: t.user, role: t.role, createdAt: t.createdAt });

export function tokenRoutes(api: ApiContext): ApiRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/api/v1/tokens',
      summary: 'List API tokens (never their secrets)',
      tag: 'tokens',
      access: 'viewer',
      schema: { response: { 200: TokenList } },
    }, async () => ok({ ...api.meta(), tokens: api.deps.store.readAccess().tokens().map(view) })),
    defineRoute({
      method: 'POST',
      url: '/api/v1/tokens',
      summary: "Create an API token acting as the caller, with the caller's role or viewer; the answer holds the only copy of the secret",
      tag: 'tokens',
      access: 'admin',
      schema: { body: TokenCreate, response: { 201: TokenCreated } },
    }, async (ctx) => {
      const caller = ctx.principal;
      if (!caller) throw new WebError('WEB_ERR_UNAUTHORIZED', 'log in first');
      const { id, token, hash } = newApiToken();
      const record: TokenRecord = { id, name: ctx.body.name, user: caller.user, role: ctx.body.role ?? caller.role, hash, createdAt: api.now() };
      const version = await api.write(ctx, { v: 2, op: 'token.add', token: record });
      return created({ ...api.meta(version), token: view(record), secret: token });
    }),
    defineRoute({
      method: 'DELETE',
      url: '/api/v1/tokens/:id',
      summary: 'Revoke an API token',
      tag: 'tokens',
      access: 'admin',
      schema: { params: TokenParams, response: { 200: Meta } },
    }, async (ctx) => ok(api.meta(await api.write(ctx, { v: 2, op: 'token.revoke', id: ctx.params.id })))),
  ];
}
