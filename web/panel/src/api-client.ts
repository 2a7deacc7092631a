/// <reference lib="dom" />
// The panel's side of the REST API: session login, JSON calls with the CSRF token on writes, the
// /metrics text, and API errors carried with their code, message and field for the operator.
import { type SessionInfo, sessionFromApi } from './models.js';

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
  private csrf: string | null = null;
  session: SessionInfo | null = null;

  constructor(private readonly base = '') {}

  async login(user: string, password: string): Promise<SessionInfo> {
    const res = await fetch(`${this.base}/api/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user, password }),
      credentials: 'same-origin',
    });
    if (!res.ok) throw await toApiError(res);
    return this.adopt(await res.json().catch(() => ({})));
  }

  /** The session the browser's cookie still holds (a reload, a new tab), or null. */
  async resume(): Promise<SessionInfo | null> {
    const res = await fetch(`${this.base}/api/v1/session`, { credentials: 'same-origin', cache: 'no-store' });
    if (res.status === 401 || res.status === 404) return null;
    if (!res.ok) throw await toApiError(res);
    return this.adopt(await res.json());
  }

  async logout(): Promise<void> {
    try {
      await this.send('DELETE', '/api/v1/session');
    } finally {
      this.csrf = null;
      this.session = null;
    }
  }

  async get<T>(path: string, signal?: AbortSignal): Promise<T> {
    const res = await this.request('GET', path, undefined, signal);
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

  private async request(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (method !== 'GET' && this.csrf) headers['x-csrf-token'] = this.csrf;
    const init: RequestInit = { method, headers, credentials: 'same-origin', cache: 'no-store' };
    if (body !== undefined) init.body = JSON.stringify(body);
    if (signal) init.signal = signal;
    const res = await fetch(`${this.base}${path}`, init);
    if (res.status === 401) {
      this.csrf = null;
      this.session = null;
      this.onUnauthorized();
    }
    if (!res.ok) throw await toApiError(res);
    return res;
  }

  private adopt(body: unknown): SessionInfo {
    const session = sessionFromApi(body);
    this.session = session;
    this.csrf = session.csrfToken;
    return session;
  }
}
