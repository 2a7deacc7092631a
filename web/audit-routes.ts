// /api/v1/audit: the replicated audit log, newest first, paged by sequence number.
import type { ApiContext } from './api-context.js';
import { defineRoute, ok, type ApiRoute } from './route-table.js';
import { AuditList, AuditQuery } from './schemas.js';

export function auditRoutes(api: ApiContext): ApiRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/api/v1/audit',
      summary: 'Who changed what, when and from where (newest first; `before` pages back by seq)',
      tag: 'audit',
      access: 'viewer',
      schema: { querystring: AuditQuery, response: { 200: AuditList } },
    }, async (ctx) => {
      const limit = Number(ctx.query.limit ?? '100');
      const query = ctx.query.before === undefined ? { limit } : { limit, before: Number(ctx.query.before) };
      return ok({ ...api.meta(), entries: api.deps.store.readAccess().audit(query) });
    }),
  ];
}
