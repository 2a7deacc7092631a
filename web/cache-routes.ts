// /api/v1/cache: purge cached responses on every node and worker. The purge is a replicated
// command (cache.purge): the state machine numbers it, every node's workers apply each number
// once, and a node that was down or partitioned applies it when it catches up, which a
// fan-out to peers could not promise.
import type { ApiContext } from './api-context.js';
import { WebError } from './errors.js';
import { defineRoute, ok, type ApiRoute } from './route-table.js';
import { CachePurgeResponse, CacheQuery } from './schemas.js';

export function cacheRoutes(api: ApiContext): ApiRoute[] {
  return [
    defineRoute({
      method: 'DELETE',
      url: '/api/v1/cache',
      summary: 'Purge cached responses (?listener=&route=&prefix=, each optional) on every node; answers once committed',
      tag: 'cache',
      access: 'admin',
      schema: { querystring: CacheQuery, response: { 200: CachePurgeResponse } },
    }, async (ctx) => {
      const { listener, route, prefix } = ctx.query;
      // A query filter, not a resource in the path: an unknown listener is a bad request (400).
      if (listener !== undefined && !api.deps.store.read().listeners.some((l) => l.name === listener)) {
        throw new WebError('WEB_ERR_INVALID', `listener: no listener named "${listener}"`, { field: 'listener' });
      }
      const purge = {
        ...(listener === undefined ? {} : { listener }),
        ...(route === undefined ? {} : { route }),
        ...(prefix === undefined ? {} : { prefix }),
      };
      const version = await api.write(ctx, { v: 2, op: 'cache.purge', purge });
      const state = api.deps.store.read();
      const seq = state.cachePurges?.at(-1)?.seq;
      if (seq === undefined) throw new WebError('WEB_ERR_INTERNAL', 'the purge committed but is not in the state');
      return ok({ ...api.meta(version), purge: { seq } });
    }),
  ];
}
