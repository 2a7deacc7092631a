// API bearer tokens: "blt_<id>_<secret>". The id finds the record; only a SHA-256 of the secret is
// stored (the secret is 256 random bits, so a slow hash would add nothing); shown once at creation.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const TOKEN_RE = /^blt_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;
export const TOKEN_ID_PATTERN = '^[0-9a-f]{12}$';

export function hashTokenSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function newApiToken(): { id: string; token: string; hash: string } {
  const id = randomBytes(6).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { id, token: `blt_${id}_${secret}`, hash: hashTokenSecret(secret) };
}

export function parseApiToken(text: string): { id: string; secret: string } | null {
  const m = TOKEN_RE.exec(text);
  return m ? { id: m[1]!, secret: m[2]! } : null;
}

export function tokenSecretMatches(secret: string, storedHash: string): boolean {
  const got = Buffer.from(hashTokenSecret(secret), 'hex');
  const want = Buffer.from(storedHash, 'hex');
  return got.length === want.length && timingSafeEqual(got, want);
}
