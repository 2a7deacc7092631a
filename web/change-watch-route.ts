// GET /api/v1/changes?after=VERSION: a long poll that answers as soon as this node has applied a
// state version newer than `after` (or after `wait` seconds with the current one), so a panel on
// any node shows a change made anywhere within one commit and one round trip, not a poll period.
// Without `after` it answers at once with the current version, to start from.
import { Type } from '@sinclair/typebox';
import type { ApiContext } from './api-context.js';
import { defineRoute, ok, type ApiRoute } from './route-table.js';

const DEFAULT_WAIT_S = 25;

export const ChangesQuery = Type.Object(
  {
    after: Type.Optional(Type.String({ pattern: '^(0|[1-9][0-9]{0,14})$', errorMessage: 'must be a state version (a whole number)' })),
    wait: Type.Optional(Type.String({ pattern: '^([1-9]|[12][0-9]|30)$', errorMessage: 'must be whole seconds, 1..30' })),
  },
  { additionalProperties: false },
);

export const ChangesResponse = Type.Object(
  {
    node: Type.String({ description: 'The node that answered' }),
    version: Type.Integer({ description: 'State version applied on this node now' }),
    commitIndex: Type.Integer({ description: 'Raft commit index on the answering node' }),
    changed: Type.Boolean({ description: 'True when `version` is newer than `after`; false when the wait ran out' }),
  },
  { additionalProperties: false },
);

/** Pending long polls, woken by the store's change listener (registered once per app). */
class ChangeWaiters {
  private readonly waiting = new Set<() => void>();

  wake(): void {
    for (const w of [...this.waiting]) w();
  }

  /** Resolves when `isNewer()` holds after a change, or after `ms`, or when the client goes away. */
  wait(isNewer: () => boolean, ms: number, gone: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiting.delete(check);
        gone.removeEventListener('abort', done);
        resolve();
      };
      const check = () => {
        if (isNewer()) done();
      };
      const timer = setTimeout(done, ms);
      gone.addEventListener('abort', done);
      this.waiting.add(check);
    });
  }

  /** Answer everyone now (the app is closing). */
  release(): void {
    for (const w of [...this.waiting]) w();
    this.waiting.clear();
  }
}

export function changeWatchRoutes(api: ApiContext): { routes: ApiRoute[]; close(): void } {
  const waiters = new ChangeWaiters();
  let closing = false;
  api.deps.store.onChange(() => waiters.wake());
  const version = () => api.deps.store.read().version;
  const routes = [
    defineRoute({
      method: 'GET',
      url: '/api/v1/changes',
      summary: 'Long poll: answers once this node applied a state version newer than `after`, or after `wait` seconds (default 25); without `after`, at once',
      tag: 'cluster',
      access: 'viewer',
      schema: { querystring: ChangesQuery, response: { 200: ChangesResponse } },
    }, async (ctx) => {
      if (ctx.query.after === undefined) return ok({ ...api.meta(version()), changed: false });
      const after = Number(ctx.query.after);
      if (version() <= after && !closing) {
        const gone = new AbortController();
        ctx.reply.raw.once('close', () => gone.abort());
        const waitS = ctx.query.wait === undefined ? DEFAULT_WAIT_S : Number(ctx.query.wait);
        await waiters.wait(() => closing || version() > after, waitS * 1000, gone.signal);
      }
      const now = version();
      return ok({ ...api.meta(now), changed: now > after });
    }),
  ];
  return {
    routes,
    close: () => {
      closing = true;
      waiters.release();
    },
  };
}
