// The OpenAPI 3.1 document and a plain HTML docs page, generated from the route table, so the
// description cannot drift from the schemas fastify validates with. (@fastify/swagger is not a
// dependency; the route table already holds everything it would collect.)
import { Type, type TSchema } from '@sinclair/typebox';
import { defineRoute, ok, type ApiRoute } from './route-table.js';
import { ErrorBody, Text } from './schemas.js';
import { SESSION_COOKIE } from './session-cookie.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Plain JSON Schema: TypeBox's symbols dropped, our Ajv-only `errorMessage` keyword removed. */
function plain(schema: TSchema): Json {
  return JSON.parse(JSON.stringify(schema, (key, value: unknown) => (key === 'errorMessage' ? undefined : value))) as Json;
}

const openApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

const operationId = (r: ApiRoute) => r.method.toLowerCase() + openApiPath(r.url).replace(/[^A-Za-z0-9]+([A-Za-z0-9])?/g, (_m, c?: string) => (c ? c.toUpperCase() : ''));

function parameters(schema: TSchema | undefined, where: 'path' | 'query'): Json[] {
  const props = (schema?.['properties'] ?? {}) as Record<string, TSchema>;
  const required = new Set((schema?.['required'] as string[] | undefined) ?? []);
  return Object.entries(props).map(([name, s]) => ({ name, in: where, required: where === 'path' || required.has(name), schema: plain(s) }));
}

const ERROR_TEXT: Record<number, string> = {
  400: 'Invalid input: `error.field` names the field and `error.message` what to fix; nothing changed',
  401: 'No or invalid credentials',
  403: 'Role too low (viewer), or a cookie-session write without x-csrf-token',
  404: 'The named pool, backend, listener, user or token does not exist',
  409: 'Conflicts with the current state (duplicate name, in use, last admin)',
  413: 'Body too large',
  415: 'Body is not application/json',
  429: 'Too many failed logins from this address or for this user; see Retry-After',
  503: 'No leader (no quorum) or node stopping; retry',
  504: 'Not confirmed committed in time; it may still apply',
};

function errorStatuses(r: ApiRoute): number[] {
  const write = r.method !== 'GET';
  const out = new Set<number>();
  if (r.schema.params || r.schema.body || r.schema.querystring) out.add(400);
  if (r.access !== 'open') out.add(401).add(403);
  if (r.schema.params) out.add(404);
  if (r.schema.body) out.add(413).add(415);
  if (write && r.access !== 'open') out.add(409).add(503).add(504);
  if (r.access === 'open' && r.schema.body) out.add(401).add(429);
  return [...out].sort();
}

export function openApiDocument(routes: readonly ApiRoute[]): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const r of routes) {
    const responses: Record<string, Json> = {};
    for (const [status, schema] of Object.entries(r.schema.response)) {
      responses[status] = schema['type'] === 'null'
        ? { description: 'No content' }
        : { description: 'Success', content: { [r.produces ?? 'application/json']: { schema: plain(schema) } } };
    }
    for (const status of errorStatuses(r)) {
      responses[String(status)] = { description: ERROR_TEXT[status] ?? 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
    }
    const op: Record<string, Json> = {
      operationId: operationId(r),
      summary: r.summary,
      tags: [r.tag],
      'x-ballast-access': r.access,
      parameters: [...parameters(r.schema.params, 'path'), ...parameters(r.schema.querystring, 'query')],
      responses,
    };
    if (r.access === 'open') op['security'] = [];
    if (r.schema.body) op['requestBody'] = { required: true, content: { 'application/json': { schema: plain(r.schema.body) } } };
    (paths[openApiPath(r.url)] ??= {})[r.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Ballast admin API',
      version: '1',
      description: 'Every read names the node that answered and the state version; writes return once committed.',
    },
    components: {
      schemas: { Error: plain(ErrorBody) },
      securitySchemes: {
        session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE, description: 'From POST /api/v1/session; writes also need x-csrf-token' },
        bearer: { type: 'http', scheme: 'bearer', description: 'An API token from POST /api/v1/tokens' },
        basic: { type: 'http', scheme: 'basic', description: "A user's name and password" },
      },
    },
    security: [{ session: [] }, { bearer: [] }, { basic: [] }],
    paths,
  };
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function docsPage(routes: readonly ApiRoute[]): string {
  const rows = [...routes]
    .sort((a, b) => a.tag.localeCompare(b.tag) || a.url.localeCompare(b.url))
    .map((r) => `<tr><td>${escapeHtml(r.tag)}</td><td><code>${r.method}</code></td><td><code>${escapeHtml(openApiPath(r.url))}</code></td><td>${escapeHtml(r.access)}</td><td>${escapeHtml(r.summary)}</td></tr>`)
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Ballast admin API</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:4px 10px;text-align:left;vertical-align:top}</style>
</head><body>
<h1>Ballast admin API</h1>
<p>JSON over HTTP. Authenticate with the session cookie (<code>POST /api/v1/session</code>; writes also send <code>x-csrf-token</code>),
a bearer API token, or HTTP Basic. Errors are <code>{ "error": { "code", "message", "field" } }</code>.
Machine-readable description: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p>
<table><thead><tr><th>area</th><th>method</th><th>path</th><th>who</th><th>what</th></tr></thead>
<tbody>
${rows}
</tbody></table>
</body></html>
`;
}

/** The two documentation routes; they describe `routes` and themselves. */
export function docsRoutes(routes: readonly ApiRoute[]): ApiRoute[] {
  const own: ApiRoute[] = [
    defineRoute({
      method: 'GET',
      url: '/api/v1/openapi.json',
      summary: 'This API as an OpenAPI 3.1 document',
      tag: 'docs',
      access: 'viewer',
      schema: { response: { 200: Type.Unknown({ description: 'An OpenAPI 3.1 document' }) } },
    }, async () => ok(document)),
    defineRoute({
      method: 'GET',
      url: '/api/v1/docs',
      summary: 'A page listing every operation',
      tag: 'docs',
      access: 'viewer',
      produces: 'text/html; charset=utf-8',
      schema: { response: { 200: Text } },
    }, async () => ok(page)),
  ];
  const all = [...routes, ...own];
  const document = openApiDocument(all);
  const page = docsPage(all);
  return own;
}
