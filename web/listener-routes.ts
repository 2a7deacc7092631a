// /api/v1/listeners: data-plane listeners, read back with the port the workers bound.
import { ListenerInput } from '../config/schema.js';
import { sealInlineKeys } from '../lb/tls/inline-keys.js';
import type { ListenerSpec } from '../lb/types.js';
import type { ApiContext } from './api-context.js';
import { listenerSpec } from './api-input.js';
import { WebError } from './errors.js';
import { listenerView } from './read-back.js';
import { created, defineRoute, ok, type ApiRoute } from './route-table.js';
import { ListenerList, ListenerOne, ListenerParams, Meta } from './schemas.js';

export function listenerRoutes(api: ApiContext): ApiRoute[] {
  /** Inline TLS keys never enter the replicated state in the clear (lb/tls/inline-keys.ts). */
  const spec = (body: ListenerInput): ListenerSpec => {
    const s = listenerSpec(body);
    return api.deps.sealKey === undefined ? s : sealInlineKeys(s, api.deps.sealKey);
  };
  const one = (name: string, version?: number) => {
    const s = api.deps.store.read();
    const spec = s.listeners.find((l) => l.name === name);
    if (!spec) throw new WebError('WEB_ERR_NOT_FOUND', `no listener named "${name}"`, { field: 'listener' });
    return { ...api.meta(version ?? s.version), listener: listenerView(spec, api.deps.listenerPorts()[name]) };
  };

  return [
    defineRoute({
      method: 'GET',
      url: '/api/v1/listeners',
      summary: 'List listeners with the ports the workers bound',
      tag: 'listeners',
      access: 'viewer',
      schema: { response: { 200: ListenerList } },
    }, async () => {
      const s = api.deps.store.read();
      const ports = api.deps.listenerPorts();
      return ok({ ...api.meta(s.version), listeners: s.listeners.map((l) => listenerView(l, ports[l.name])) });
    }),
    defineRoute({
      method: 'POST',
      url: '/api/v1/listeners',
      summary: 'Create a listener (409 if the name or the bind address is taken)',
      tag: 'listeners',
      access: 'admin',
      schema: { body: ListenerInput, response: { 201: ListenerOne } },
    }, async (ctx) => {
      const listener = spec(ctx.body);
      return created(one(listener.name, await api.write(ctx, { v: 2, op: 'listener.create', listener })));
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/listeners/:listener',
      summary: 'One listener',
      tag: 'listeners',
      access: 'viewer',
      schema: { params: ListenerParams, response: { 200: ListenerOne } },
    }, async (ctx) => ok(one(ctx.params.listener))),
    defineRoute({
      method: 'PUT',
      url: '/api/v1/listeners/:listener',
      summary: 'Replace a listener',
      tag: 'listeners',
      access: 'admin',
      schema: { params: ListenerParams, body: ListenerInput, response: { 200: ListenerOne } },
    }, async (ctx) => {
      if (ctx.body.name !== ctx.params.listener) {
        throw new WebError('WEB_ERR_INVALID', `name: must match the listener in the path ("${ctx.params.listener}"); listeners are not renamed`, { field: 'name' });
      }
      const version = await api.write(ctx, { v: 2, op: 'listener.replace', listener: spec(ctx.body) });
      return ok(one(ctx.params.listener, version));
    }),
    defineRoute({
      method: 'DELETE',
      url: '/api/v1/listeners/:listener',
      summary: 'Delete a listener',
      tag: 'listeners',
      access: 'admin',
      schema: { params: ListenerParams, response: { 200: Meta } },
    }, async (ctx) => ok(api.meta(await api.write(ctx, { v: 1, op: 'listener.delete', listener: ctx.params.listener })))),
  ];
}
