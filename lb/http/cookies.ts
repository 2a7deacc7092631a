// Cookies the balancer reads and inserts itself (sticky backend, split pool): lookup in a
// request's Cookie header(s) and the Set-Cookie line it sends.
import type { ClientRequest } from './types.js';

/** The value of cookie `name` in the request, or undefined. HTTP/2 may split Cookie into several fields. */
export function requestCookie(req: ClientRequest, name: string): string | undefined {
  const raw = req.headers['cookie'] as string | string[] | undefined;
  const lines = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  for (const line of lines) {
    for (const part of line.split(';')) {
      const eq = part.indexOf('=');
      if (eq === -1 || part.slice(0, eq).trim() !== name) continue;
      const value = part.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
      return value === '' ? undefined : value;
    }
  }
  return undefined;
}

/** A session cookie for the whole site, hidden from scripts; Secure on TLS listeners. */
export function setCookieLine(name: string, value: string, secure: boolean): string {
  return `${name}=${value}; Path=/; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;
}
