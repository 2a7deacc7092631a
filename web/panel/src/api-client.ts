/// <reference lib="dom" />
// The panel's side of the REST API: session login, JSON calls with the CSRF token on writes, the
// /metrics text, and API errors carried with their code, message and field for the operator.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field: string | null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const CSRF_KEY = 'ballast.csrf';

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

/** Reads the error body whatever its nesting ({message, field} or {error: {message, field}}). */
async function toApiError(res: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await res.json();
  } catch {
    // not JSON: the status text has to do
  }
  const outer = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  const inner = (outer['error'] && typeof outer['error'] === 'object' ? outer['error'] : {}) as Record<string, unknown>;
  const message = str(inner['message']) ?? str(outer['message']) ?? str(outer['error']) ?? (res.statusText || `HTTP ${res.status}`);
  const code = str(inner['code']) ?? str(outer['code']) ?? `HTTP_${res.status}`;
  const field = str(inner['field']) ?? str(outer['field']);
  return new ApiError(res.status, code, message, field);
}

export class ApiClient {
  /** Called when the server says the session is gone, so the panel can show the login again. */
  onUnauthorized: () => void = () => {};
  private csrf: string | null = sessionStorage.getItem(CSRF_KEY);

  constructor(private readonly base = '') {}

  async login(user: string, password: string): Promise<void> {
    const res = await fetch(`${this.base}/api/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user, password }),
      credentials: 'same-origin',
    });
    if (!res.ok) throw await toApiError(res);
    const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    this.setCsrf(str(body['csrfToken']) ?? str(body['csrf']) ?? res.headers.get('x-csrf-token'));
  }

  async logout(): Promise<void> {
    try {
      await this.send('DELETE', '/api/v1/session');
    } finally {
      this.setCsrf(null);
    }
  }

  hasSession(): boolean {
    return this.csrf !== null;
  }

  async get<T>(path: string): Promise<T> {
    const res = await this.request('GET', path);
    return (await res.json()) as T;
  }

  async send<T = unknown>(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const res = await this.request(method, path, body);
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  async metricsText(): Promise<string> {
    const res = await this.request('GET', '/metrics');
    return res.text();
  }

  private async request(method: string, path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (method !== 'GET' && this.csrf) headers['x-csrf-token'] = this.csrf;
    const init: RequestInit = { method, headers, credentials: 'same-origin', cache: 'no-store' };
    if (body !== undefined) init.body = JSON.stringify(body);
    const res = await fetch(`${this.base}${path}`, init);
    if (res.status === 401) {
      this.setCsrf(null);
      this.onUnauthorized();
    }
    if (!res.ok) throw await toApiError(res);
    return res;
  }

  private setCsrf(token: string | null): void {
    this.csrf = token;
    if (token) sessionStorage.setItem(CSRF_KEY, token);
    else sessionStorage.removeItem(CSRF_KEY);
  }
}
