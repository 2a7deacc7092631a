// The route table: each API route declared once with its access rule and TypeBox schemas, then
// registered on fastify and described in the OpenAPI document from that same declaration.
import type { Static, TSchema } from '@sinclair/typebox';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest, FastifySchema, RawServerDefault } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { compileValidator } from '../config/validate.js';
import type { Access, Principal } from './types.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RouteSchemas {
  params?: TSchema;
  querystring?: TSchema;
  body?: TSchema;
  /** Success responses by status; error responses share ErrorBody and are added for every route. */
  response: Record<number, TSchema>;
}

type Part<S, Absent> = S extends TSchema ? Static<S> : Absent;

export interface RouteContext<S extends RouteSchemas> {
  params: Part<S['params'], Record<string, never>>;
  query: Part<S['querystring'], Record<string, never>>;
  body: Part<S['body'], undefined>;
  /** Null only on open routes. */
  principal: Principal | null;
  ip: string;
  reply: FastifyReply;
}

export type RouteResult<R extends Record<number, TSchema>> = { [K in keyof R & number]: { status: K; body: Static<R[K]> } }[keyof R & number];

export interface RouteDecl<S extends RouteSchemas = RouteSchemas> {
  method: HttpMethod;
  /** fastify form: /api/v1/pools/:pool */
  url: string;
  summary: string;
  tag: string;
  access: Access;
  schema: S;
  /** Content type of a non-JSON success body (the body is then sent as a string). */
  produces?: string;
}

export interface ApiRoute extends RouteDecl {
  handler(ctx: RouteContext<RouteSchemas>): Promise<{ status: number; body: unknown }>;
}

/** A route whose handler is typed by the schemas declared with it. */
export function defineRoute<S extends RouteSchemas>(decl: RouteDecl<S>, handler: (ctx: RouteContext<S>) => Promise<RouteResult<S['response']>>): ApiRoute {
  return { ...decl, handler };
}

export const ok = <B>(body: B) => ({ status: 200 as const, body });
export const created = <B>(body: B) => ({ status: 201 as const, body });

/**
 * Requests are validated with config/validate.ts (the config file's validator), so a bad API body
 * gets the same "field: what is wrong" message as a bad config file.
 */
export function compileRequestValidator({ schema, httpPart }: { schema: TSchema; httpPart?: string }) {
  const validate = compileValidator(schema);
  return (data: unknown): { value: unknown } | { error: Error } => {
    // An absent body reads as {}: optional-only bodies may be left out, others name what is missing.
    const input = httpPart === 'body' && data === null ? {} : data;
    try {
      return { value: validate(input) };
    } catch (err) {
      return { error: err as Error };
    }
  };
}

function fastifySchema(route: ApiRoute): FastifySchema {
  const { params, querystring, body, response } = route.schema;
  return {
    ...(params ? { params } : {}),
    ...(querystring ? { querystring } : {}),
    ...(body ? { body } : {}),
    // Serialize JSON through the response schema: a field the schema does not name never leaves.
    ...(route.produces === undefined ? { response } : {}),
  };
}

export function registerRoutes<L extends FastifyBaseLogger>(app: FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, L>, routes: readonly ApiRoute[]): void {
  for (const route of routes) {
    app.route({
      method: route.method,
      url: route.url,
      schema: fastifySchema(route),
      config: { access: route.access },
      handler: async (req: FastifyRequest, reply: FastifyReply) => {
        const ctx = { params: req.params, query: req.query, body: req.body, principal: req.principal, ip: req.ip, reply } as RouteContext<RouteSchemas>;
        const result = await route.handler(ctx);
        if (route.produces !== undefined) void reply.type(route.produces);
        return reply.code(result.status).send(result.body);
      },
    });
  }
}
