// /api/v1/session: log in (sets the signed session cookie and returns the CSRF token), who am I,
// log out.
import type { ApiContext } from './api-context.js';
import { WebError } from './errors.js';
import { defineRoute, ok, type ApiRoute } from './route-table.js';
import { LoginBody, NoContent, SessionView } from './schemas.js';
import { SESSION_TTL_MS, sessionCookie } from './session-cookie.js';

export function sessionRoutes(api: ApiContext): ApiRoute[] {
  return [
    defineRoute({
      method: 'POST',
      url: '/api/v1/session',
      summary: 'Log in: sets an HttpOnly SameSite=Strict session cookie; writes with it must send x-csrf-token',
      tag: 'session',
      access: 'open',
      schema: { body: LoginBody, response: { 200: SessionView } },
    }, async (ctx) => {
      const { role, passwordHash } = await api.auth.checkPassword(ctx.body.user, ctx.body.password, ctx.ip);
      const signer = api.auth.sessionSigner();
      if (!signer) throw new WebError('WEB_ERR_UNAVAILABLE', 'this cluster has no session secret yet; retry once the node has bootstrapped');
      const { value, claims } = signer.issue(ctx.body.user, passwordHash, api.now());
      void ctx.reply.header('set-cookie', sessionCookie(value, Math.floor(SESSION_TTL_MS / 1000), ctx.reply.request.protocol === 'https'));
      api.deps.logger.info({ user: ctx.body.user, from: ctx.ip }, 'session opened');
      return ok({ user: ctx.body.user, role, via: 'session' as const, csrfToken: signer.csrfToken(claims), expiresAt: claims.exp });
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/session',
      summary: 'Who is calling, how they authenticated, and the CSRF token of a cookie session',
      tag: 'session',
      access: 'viewer',
      schema: { response: { 200: SessionView } },
    }, async (ctx) => {
      const p = ctx.principal;
      if (!p) throw new WebError('WEB_ERR_UNAUTHORIZED', 'log in first');
      return ok({ user: p.user, role: p.role, via: p.via, csrfToken: p.session?.csrfToken ?? null, expiresAt: p.session?.expiresAt ?? null });
    }),
    defineRoute({
      method: 'DELETE',
      url: '/api/v1/session',
      summary: 'Log out: clears the session cookie in this browser',
      tag: 'session',
      access: 'viewer',
      schema: { response: { 204: NoContent } },
    }, async (ctx) => {
      void ctx.reply.header('set-cookie', sessionCookie('', 0, ctx.reply.request.protocol === 'https'));
      return { status: 204 as const, body: null };
    }),
  ];
}
