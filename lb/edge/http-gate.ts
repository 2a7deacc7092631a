// HttpGate: the edge checks of one HTTP listener, run on every request before a backend is picked:
// access rules, the URL filter, rate limits, then the JSON body check. Compiled once per spec.
import { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { ClientRequest } from '../http/types.js';
import type { ListenerSpec, RateLimitSpec, RequestFilterSpec, RouteSpec } from '../types.js';
import { compileAccess, type AccessRules } from './access-rules.js';
import type { EdgeRuntime } from './edge-runtime.js';
import { checkJsonBody } from './json-body.js';
import { matchUrlRules } from './request-filter.js';
import type { GateVerdict } from './types.js';

interface Limit {
  spec: RateLimitSpec;
  /** Bucket key prefix: listener, where the limit is set, its index. */
  prefix: string;
}

interface CompiledFilter {
  spec: RequestFilterSpec;
  disabled: ReadonlySet<string>;
}

interface CompiledRoute {
  id: string;
  access: AccessRules | null;
  limits: Limit[];
  filter: CompiledFilter | null;
}

const PASS: GateVerdict = { kind: 'pass' };
/** Longest header value used as a bucket key; longer API keys share by prefix. */
const MAX_KEY_VALUE = 256;

export function routeId(route: RouteSpec): string {
  return `${route.host ?? '*'}${route.pathPrefix}`;
}

function compileFilter(spec: RequestFilterSpec | undefined): CompiledFilter | null {
  return spec === undefined ? null : { spec, disabled: new Set(spec.disabled) };
}

function headerValue(req: ClientRequest, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s === '' ? undefined : s.slice(0, MAX_KEY_VALUE);
}

export class HttpGate {
  private readonly listenerAccess: AccessRules | null;
  private readonly listenerLimits: Limit[];
  private readonly listenerFilter: CompiledFilter | null;
  private readonly routes = new WeakMap<RouteSpec, CompiledRoute>();
  /** Nothing configured: check() is one branch. */
  readonly idle: boolean;

  constructor(
    private readonly spec: ListenerSpec,
    private readonly edge: EdgeRuntime,
    private readonly logger: Logger,
  ) {
    this.listenerAccess = compileAccess(spec.access);
    this.listenerLimits = (spec.rateLimits ?? []).map((l, i) => ({ spec: l, prefix: `${spec.name}|L${i}` }));
    this.listenerFilter = compileFilter(spec.filter);
    let any = this.listenerAccess !== null || this.listenerLimits.length > 0 || this.listenerFilter !== null;
    for (const route of spec.routes) {
      const id = routeId(route);
      const compiled: CompiledRoute = {
        id,
        access: compileAccess(route.access),
        limits: (route.rateLimits ?? []).map((l, i) => ({ spec: l, prefix: `${spec.name}|R${id}|${i}` })),
        filter: compileFilter(route.filter),
      };
      any ||= compiled.access !== null || compiled.limits.length > 0 || compiled.filter !== null;
      this.routes.set(route, compiled);
    }
    this.idle = !any;
  }

  /** Synchronous when nothing needs the node or the body; a promise otherwise. */
  check(req: ClientRequest, route: RouteSpec | undefined, clientIp: string, url: string): GateVerdict | Promise<GateVerdict> {
    if (this.idle) return PASS;
    const compiled = route === undefined ? undefined : this.routes.get(route);
    for (const rules of [this.listenerAccess, compiled?.access ?? null]) {
      if (rules !== null && !rules.check(clientIp).allowed) return this.refuse(req, compiled, clientIp, 403, 'access-deny', `${clientIp} is not allowed here`);
    }
    const filter = compiled?.filter ?? this.listenerFilter;
    if (filter !== null) {
      const rule = matchUrlRules(url, filter.disabled);
      if (rule !== null) {
        if (filter.spec.mode === 'block') return this.refuse(req, compiled, clientIp, 403, rule, `request refused by filter rule ${rule}`);
        this.monitored(req, compiled, clientIp, rule);
      }
    }
    const limits = compiled === undefined ? this.listenerLimits : [...this.listenerLimits, ...compiled.limits];
    const json = filter !== null && filter.spec.json && hasBody(req) ? filter : null;
    if (limits.length === 0 && json === null) return PASS;
    return this.limitThenBody(req, compiled, clientIp, limits, json);
  }

  /**
   * Synchronous while every limit answers from its lease (the common case): a promise per request
   * would cost an allocation and a tick. The first limit that must ask the node turns it async.
   */
  private limitThenBody(
    req: ClientRequest,
    route: CompiledRoute | undefined,
    clientIp: string,
    limits: Limit[],
    json: CompiledFilter | null,
    from = 0,
  ): GateVerdict | Promise<GateVerdict> {
    for (let i = from; i < limits.length; i++) {
      const limit = limits[i];
      if (limit === undefined) continue;
      const key = `${limit.prefix}|${this.keyValue(req, limit.spec, route, clientIp)}`;
      const taken = this.edge.limiter.take(key, limit.spec);
      if (taken instanceof Promise) {
        return taken.then((d) => (d.allowed ? this.limitThenBody(req, route, clientIp, limits, json, i + 1) : this.tooMany(req, route, clientIp, d.retryAfterSec)));
      }
      if (!taken.allowed) return this.tooMany(req, route, clientIp, taken.retryAfterSec);
    }
    return json === null ? PASS : this.body(req, route, clientIp, json);
  }

  private tooMany(req: ClientRequest, route: CompiledRoute | undefined, clientIp: string, retryAfterSec: number): GateVerdict {
    return this.refuse(req, route, clientIp, 429, 'rate-limit', 'too many requests', { 'Retry-After': String(retryAfterSec) });
  }

  private async body(req: ClientRequest, route: CompiledRoute | undefined, clientIp: string, json: CompiledFilter): Promise<GateVerdict> {
    const block = json.spec.mode === 'block';
    const result = await checkJsonBody(
      req,
      { contentType: headerValue(req, 'content-type'), contentLength: headerValue(req, 'content-length') },
      json.spec.maxJsonBytes,
      block,
    ).catch(() => null);
    // The client went away mid-body: nothing to answer.
    if (result === null) return { kind: 'reject', status: 400, reason: 'request body not received', rule: 'body-aborted' };
    if (result.ok) return { kind: 'pass', body: result.body };
    if (block || result.body === undefined) return this.refuse(req, route, clientIp, result.status, result.rule, result.reason);
    this.monitored(req, route, clientIp, result.rule);
    return { kind: 'pass', body: result.body };
  }

  private keyValue(req: ClientRequest, spec: RateLimitSpec, route: CompiledRoute | undefined, clientIp: string): string {
    switch (spec.key) {
      case 'ip':
        return `ip:${clientIp}`;
      case 'header': {
        const v = spec.header === undefined ? undefined : headerValue(req, spec.header);
        return v === undefined ? `ip:${clientIp}` : `h:${v}`;
      }
      case 'route':
        return `r:${route?.id ?? '-'}`;
      default: {
        const never: never = spec.key;
        throw new TypeError(`unknown rate limit key ${String(never)}`);
      }
    }
  }

  private refuse(
    req: ClientRequest,
    route: CompiledRoute | undefined,
    clientIp: string,
    status: number,
    rule: string,
    reason: string,
    headers?: Record<string, string>,
  ): GateVerdict {
    this.edge.metrics.decisionsTotal.inc({ listener: this.spec.name, rule, action: 'blocked' });
    // Rate-limited requests are counted, not logged one by one: a flood would flood the log.
    if (rule !== 'rate-limit') {
      this.logger.warn(
        { listener: this.spec.name, route: route?.id ?? '', rule, client: clientIp, method: req.method, url: (req.url ?? '').slice(0, 512), action: 'blocked' },
        'edge: request refused',
      );
    }
    return headers === undefined ? { kind: 'reject', status, reason, rule } : { kind: 'reject', status, reason, rule, headers };
  }

  private monitored(req: ClientRequest, route: CompiledRoute | undefined, clientIp: string, rule: string): void {
    this.edge.metrics.decisionsTotal.inc({ listener: this.spec.name, rule, action: 'monitored' });
    this.logger.warn(
      { listener: this.spec.name, route: route?.id ?? '', rule, client: clientIp, method: req.method, url: (req.url ?? '').slice(0, 512), action: 'monitored' },
      'edge: filter match (monitor mode, let through)',
    );
  }
}

function hasBody(req: ClientRequest): boolean {
  if (!(req instanceof IncomingMessage)) return !req.stream.endAfterHeaders;
  const length = req.headers['content-length'];
  if (length !== undefined) return length !== '0';
  return req.headers['transfer-encoding'] !== undefined;
}
