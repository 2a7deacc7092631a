// Signed, stateless session cookies. The HMAC key is derived from the per-cluster secret in the
// replicated state, so any node validates a session any other node issued. A session also carries
// a stamp of the user's password hash: changing the password ends every session of that user.
import { createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'ballast_session';
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;

export interface SessionClaims {
  /** User name. */
  u: string;
  /** Expiry, epoch ms. */
  exp: number;
  /** Per-session nonce; the CSRF token is derived from it. */
  n: string;
  /** Stamp of the password hash the session was opened with. */
  s: string;
}

export function passwordStamp(passwordHash: string): string {
  return createHash('sha256').update(passwordHash).digest('base64url').slice(0, 16);
}

/** Constant-time string comparison for secrets (CSRF tokens, MACs). */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class SessionSigner {
  private readonly key: Buffer;

  constructor(clusterSecret: string) {
    this.key = Buffer.from(hkdfSync('sha256', clusterSecret, 'ballast', 'session cookie v1', 32));
  }

  private mac(text: string): string {
    return createHmac('sha256', this.key).update(text).digest('base64url');
  }

  issue(user: string, passwordHash: string, now: number): { value: string; claims: SessionClaims } {
    const claims: SessionClaims = { u: user, exp: now + SESSION_TTL_MS, n: randomBytes(16).toString('base64url'), s: passwordStamp(passwordHash) };
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return { value: `${payload}.${this.mac(payload)}`, claims };
  }

  /** The claims of a cookie this cluster signed and that has not expired; null otherwise. */
  verify(value: string, now: number): SessionClaims | null {
    const dot = value.indexOf('.');
    if (dot <= 0) return null;
    const payload = value.slice(0, dot);
    if (!sameSecret(value.slice(dot + 1), this.mac(payload))) return null;
    try {
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as SessionClaims;
      return typeof claims.exp === 'number' && claims.exp > now ? claims : null;
    } catch {
      return null;
    }
  }

  csrfToken(claims: SessionClaims): string {
    return this.mac(`csrf:${claims.n}`);
  }
}

export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Set-Cookie value; Secure is added when the admin endpoint is reached over TLS. */
export function sessionCookie(value: string, maxAgeS: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${secure ? '; Secure' : ''}`;
}
