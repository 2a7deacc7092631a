// The HTTP client `ballast ctl` drives the admin API with: one JSON request, credentials attached,
// API refusals turned into CtlError carrying the API's own code, field and message.

export type CtlAuth = { kind: 'bearer'; token: string } | { kind: 'basic'; user: string; password: string } | { kind: 'none' };

export class CtlError extends Error {
  constructor(
    message: string,
    /** 'api' when the API refused; 'transport' when it could not be reached or answered nonsense. */
    readonly kind: 'api' | 'transport',
    readonly code: string = '',
    readonly field: string = '',
  ) {
    super(message);
    this.name = 'CtlError';
  }
}

const TIMEOUT_MS = 15_000;

function authHeader(auth: CtlAuth): Record<string, string> {
  switch (auth.kind) {
    case 'bearer':
      return { authorization: `Bearer ${auth.token}` };
    case 'basic':
      return { authorization: `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}` };
    case 'none':
      return {};
    default: {
      const never: never = auth;
      return never;
    }
  }
}

export class CtlClient {
  constructor(
    private readonly base: string,
    private readonly auth: CtlAuth,
  ) {}

  async call<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const url = new URL(path, this.base);
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: { ...authHeader(this.auth), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new CtlError(`cannot reach the API at ${this.base}: ${cause?.code ?? cause?.message ?? (err as Error).message}`, 'transport');
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      throw new CtlError(`${method} ${url.pathname}: HTTP ${res.status} with a body that is not JSON; is ${this.base} a Ballast admin API?`, 'transport');
    }
    if (!res.ok) {
      const e = (parsed as { error?: { code?: string; message?: string; field?: string } } | null)?.error;
      throw new CtlError(e?.message ?? `HTTP ${res.status}`, 'api', e?.code ?? `HTTP_${res.status}`, e?.field ?? '');
    }
    return parsed as T;
  }
}
