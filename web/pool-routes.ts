// /api/v1/pools: pools and their backends, read back with health and live connections.
import { BackendInput, BackendPatch, PoolInput } from '../config/schema.js';
import type { BackendSnapshot } from '../lb/pool-types.js';
import type { DataPlaneState, PoolSpec } from '../lb/types.js';
import type { ApiContext } from './api-context.js';
import { backendSpec, poolSpec } from './api-input.js';
import { WebError } from './errors.js';
import { backendView, liveOf, poolView } from './read-back.js';
import { created, defineRoute, ok, type ApiRoute } from './route-table.js';
import { BackendOne, BackendParams, Meta, PoolList, PoolOne, PoolParams } from './schemas.js';

function findPool(state: DataPlaneState, name: string): PoolSpec {
  const pool = state.pools.find((p) => p.name === name);
  if (!pool) throw new WebError('WEB_ERR_NOT_FOUND', `no pool named "${name}"`, { field: 'pool' });
  return pool;
}

export function poolRoutes(api: ApiContext): ApiRoute[] {
  /** Workers' views, or null when there are none or they do not answer (live fields read null). */
  const live = async (): Promise<Record<string, BackendSnapshot[]> | null> => (api.deps.workers ? api.deps.workers.poolViews().catch(() => null) : null);
  const state = () => api.deps.store.read();

  const onePool = async (name: string, version?: number) => {
    const s = state();
    return { ...api.meta(version ?? s.version), pool: poolView(findPool(s, name), s.health, await live()) };
  };

  const oneBackend = async (poolName: string, name: string, version?: number) => {
    const s = state();
    const pool = findPool(s, poolName);
    const spec = pool.backends.find((b) => b.name === name);
    if (!spec) throw new WebError('WEB_ERR_NOT_FOUND', `no backend named "${name}" in pool "${poolName}"`, { field: 'backend' });
    const views = await live();
    const view = backendView(spec, s.health[pool.name]?.[name], views && liveOf(views[pool.name] ?? [], name), pool.healthCheck !== undefined);
    return { ...api.meta(version ?? s.version), pool: pool.name, backend: view };
  };

  return [
    defineRoute({
      method: 'GET',
      url: '/api/v1/pools',
      summary: 'List pools, each backend with its health and live active connections',
      tag: 'pools',
      access: 'viewer',
      schema: { response: { 200: PoolList } },
    }, async () => {
      const s = state();
      const views = await live();
      return ok({ ...api.meta(s.version), pools: s.pools.map((p) => poolView(p, s.health, views)) });
    }),
    defineRoute({
      method: 'POST',
      url: '/api/v1/pools',
      summary: 'Create a pool (409 if the name is taken)',
      tag: 'pools',
      access: 'admin',
      schema: { body: PoolInput, response: { 201: PoolOne } },
    }, async (ctx) => {
      const spec = poolSpec(ctx.body);
      const version = await api.write(ctx, { v: 2, op: 'pool.create', pool: spec });
      return created(await onePool(spec.name, version));
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/pools/:pool',
      summary: 'One pool with its backends',
      tag: 'pools',
      access: 'viewer',
      schema: { params: PoolParams, response: { 200: PoolOne } },
    }, async (ctx) => ok(await onePool(ctx.params.pool))),
    defineRoute({
      method: 'PUT',
      url: '/api/v1/pools/:pool',
      summary: 'Replace a pool (its backends too); health survives for unchanged endpoints',
      tag: 'pools',
      access: 'admin',
      schema: { params: PoolParams, body: PoolInput, response: { 200: PoolOne } },
    }, async (ctx) => {
      if (ctx.body.name !== ctx.params.pool) {
        throw new WebError('WEB_ERR_INVALID', `name: must match the pool in the path ("${ctx.params.pool}"); pools are not renamed`, { field: 'name' });
      }
      const version = await api.write(ctx, { v: 2, op: 'pool.replace', pool: poolSpec(ctx.body) });
      return ok(await onePool(ctx.params.pool, version));
    }),
    defineRoute({
      method: 'DELETE',
      url: '/api/v1/pools/:pool',
      summary: 'Delete a pool no listener uses',
      tag: 'pools',
      access: 'admin',
      schema: { params: PoolParams, response: { 200: Meta } },
    }, async (ctx) => ok(api.meta(await api.write(ctx, { v: 1, op: 'pool.delete', pool: ctx.params.pool })))),
    defineRoute({
      method: 'GET',
      url: '/api/v1/pools/:pool/backends/:backend',
      summary: 'One backend with its health and live active connections',
      tag: 'pools',
      access: 'viewer',
      schema: { params: BackendParams, response: { 200: BackendOne } },
    }, async (ctx) => ok(await oneBackend(ctx.params.pool, ctx.params.backend))),
    defineRoute({
      method: 'POST',
      url: '/api/v1/pools/:pool/backends',
      summary: 'Add a backend to a pool (applied live; 409 if the name is taken)',
      tag: 'pools',
      access: 'admin',
      schema: { params: PoolParams, body: BackendInput, response: { 201: BackendOne } },
    }, async (ctx) => {
      const spec = backendSpec(ctx.body);
      const version = await api.write(ctx, { v: 1, op: 'backend.add', pool: ctx.params.pool, backend: spec });
      return created(await oneBackend(ctx.params.pool, spec.name, version));
    }),
    defineRoute({
      method: 'PATCH',
      url: '/api/v1/pools/:pool/backends/:backend',
      summary: 'Change weight, state (active | drain | disabled), backup or maxConns of a backend, live',
      tag: 'pools',
      access: 'admin',
      schema: { params: BackendParams, body: BackendPatch, response: { 200: BackendOne } },
    }, async (ctx) => {
      const { pool, backend } = ctx.params;
      const version = await api.write(ctx, { v: 1, op: 'backend.patch', pool, backend, changes: ctx.body });
      return ok(await oneBackend(pool, backend, version));
    }),
    defineRoute({
      method: 'DELETE',
      url: '/api/v1/pools/:pool/backends/:backend',
      summary: 'Remove a backend; its in-flight work finishes',
      tag: 'pools',
      access: 'admin',
      schema: { params: BackendParams, response: { 200: Meta } },
    }, async (ctx) => {
      const { pool, backend } = ctx.params;
      return ok(api.meta(await api.write(ctx, { v: 1, op: 'backend.remove', pool, backend })));
    }),
  ];
}
