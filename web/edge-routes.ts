// /api/v1/listeners/:listener/edge: a listener's edge settings (access rules, rate limits, filter,
// access log, PROXY protocol) read and replaced on their own, through `listener.edge`.
import { Type } from '@sinclair/typebox';
import { ListenerProtectionProps, RouteProtectionProps } from '../config/protection-schema.js';
import { ConfigError } from '../config/errors.js';
import type { ListenerInput } from '../config/schema.js';
import type { EdgeSettings } from '../cluster/state/types.js';
import type { ListenerSpec } from '../lb/types.js';
import type { ApiContext } from './api-context.js';
import { listenerSpec } from './api-input.js';
import { WebError } from './errors.js';
import { listenerView } from './read-back.js';
import { defineRoute, ok, type ApiRoute } from './route-table.js';
import { ListenerOne, ListenerParams } from './schemas.js';

const EdgeRoute = Type.Object(
  { pathPrefix: Type.String({ pattern: '^/', maxLength: 2048 }), host: Type.Optional(Type.String({ maxLength: 255 })), ...RouteProtectionProps },
  { additionalProperties: false },
);
export const ListenerEdgeBody = Type.Object({ ...ListenerProtectionProps, routes: Type.Optional(Type.Array(EdgeRoute, { maxItems: 1000 })) }, { additionalProperties: false });

const LISTENER_EDGE_KEYS = ['access', 'rateLimits', 'filter', 'accessLog', 'acceptProxy', 'proxyFrom', 'sendProxy', 'maxConnsPerIp'] as const;
const ROUTE_EDGE_KEYS = ['access', 'rateLimits', 'filter'] as const;

function withoutKeys<T extends object>(value: T, keys: readonly string[]): T {
  const out = { ...value } as Record<string, unknown>;
  for (const k of keys) delete out[k];
  return out as T;
}

export function edgeRoutes(api: ApiContext): ApiRoute[] {
  const current = (name: string): ListenerSpec => {
    const spec = api.deps.store.read().listeners.find((l) => l.name === name);
    if (!spec) throw new WebError('WEB_ERR_NOT_FOUND', `no listener named "${name}"`, { field: 'listener' });
    return spec;
  };
  return [
    defineRoute({
      method: 'PUT',
      url: '/api/v1/listeners/:listener/edge',
      summary: "Replace a listener's edge settings (and its routes'); routes are named by pathPrefix and host",
      tag: 'listeners',
      access: 'admin',
      schema: { params: ListenerParams, body: ListenerEdgeBody, response: { 200: ListenerOne } },
    }, async (ctx) => {
      const spec = current(ctx.params.listener);
      const body = ctx.body;
      const { port: _port, ...view } = listenerView(spec, undefined);
      // The whole listener in input form, edge settings from the body, through the same checks as PUT.
      const input = withoutKeys(view, LISTENER_EDGE_KEYS) as ListenerInput;
      Object.assign(input, withoutKeys(body, ['routes']));
      const bodyRoutes = body.routes ?? [];
      const indexOf = bodyRoutes.map((r, i) => {
        const j = spec.routes.findIndex((s) => s.pathPrefix === r.pathPrefix && (s.host ?? '') === (r.host ?? ''));
        if (j === -1) throw new WebError('WEB_ERR_INVALID', `routes[${i}]: listener "${spec.name}" has no route ${r.host ?? ''}${r.pathPrefix}`, { field: `routes[${i}]` });
        return j;
      });
      input.routes = (input.routes ?? []).map((r, j) => {
        const i = indexOf.indexOf(j);
        const plain = withoutKeys(r, ROUTE_EDGE_KEYS);
        return i === -1 ? plain : { ...plain, ...withoutKeys(bodyRoutes[i]!, ['pathPrefix', 'host']) };
      });
      let normalized: ListenerSpec;
      try {
        normalized = listenerSpec(input);
      } catch (err) {
        // Name the field as the body has it: routes[j] of the listener is routes[i] of the body.
        if (err instanceof ConfigError) {
          const field = err.field.replace(/^routes\[(\d+)\]/, (_m, j: string) => `routes[${indexOf.indexOf(Number(j))}]`);
          throw new ConfigError(err.code, field, err.message.slice(err.field.length + 2));
        }
        throw err;
      }
      const edge: EdgeSettings = {
        listener: listenerEdgeSpec(normalized),
        routes: indexOf.map((j) => {
          const r = normalized.routes[j]!;
          const out: EdgeSettings['routes'][number] = { pathPrefix: r.pathPrefix, ...routeEdgeSpec(r) };
          if (r.host !== undefined) out.host = r.host;
          return out;
        }),
      };
      const version = await api.write(ctx, { v: 2, op: 'listener.edge', listener: spec.name, edge });
      const after = current(spec.name);
      return ok({ ...api.meta(version), listener: listenerView(after, api.deps.listenerPorts()[spec.name]) });
    }),
  ];
}

function listenerEdgeSpec(l: ListenerSpec): EdgeSettings['listener'] {
  const out: EdgeSettings['listener'] = {};
  for (const k of LISTENER_EDGE_KEYS) if (l[k] !== undefined) Object.assign(out, { [k]: l[k] });
  return out;
}

function routeEdgeSpec(r: ListenerSpec['routes'][number]): Omit<EdgeSettings['routes'][number], 'pathPrefix' | 'host'> {
  const out: Omit<EdgeSettings['routes'][number], 'pathPrefix' | 'host'> = {};
  for (const k of ROUTE_EDGE_KEYS) if (r[k] !== undefined) Object.assign(out, { [k]: r[k] });
  return out;
}
