// Who is calling: a session cookie, a bearer API token, or HTTP Basic with a user's password, each
// checked against the replicated users and tokens. Failed password checks are rate limited.
import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { AccessReader, Role } from '../cluster/state/types.js';
import { parseApiToken, tokenSecretMatches } from './api-token.js';
import { WebError } from './errors.js';
import type { LoginLimiter } from './login-limiter.js';
import { verifyAgainstDecoy, verifyPassword } from './password.js';
import { passwordStamp, readCookie, SESSION_COOKIE, SessionSigner, type SessionClaims } from './session-cookie.js';
import type { Principal } from './types.js';

/** Basic auth sends the password on every request; a scrypt per scrape would cost ~50 ms of CPU. */
const BASIC_CACHE_MS = 60_000;
const BASIC_CACHE_MAX = 256;

const RANK: Record<Role, number> = { viewer: 0, admin: 1 };

/** Bound on the read barrier a failed login waits for; without a quorum it times out and the login fails. */
const CATCH_UP_MS = 2000;
/** Bound on waiting for a cluster whose first leader is still creating the admin user. */
const FIRST_USER_WAIT_MS = 5000;

type Verified = { role: Role; passwordHash: string };
/** A check's outcome and the stored hash it ran against (undefined: no such user then). */
type Checked = { verified: Verified | null; checkedHash: string | undefined };

export class Authenticator {
  private signer: { secret: string; signer: SessionSigner } | null = null;
  /** sha256(user, password, stored hash) -> expiry; a password change misses the cache. */
  private readonly basicOk = new Map<string, number>();

  constructor(
    private readonly access: () => AccessReader,
    private readonly limiter: LoginLimiter,
    private readonly now: () => number,
    /** Waits until this node applied what the cluster committed (Raft ReadIndex); null on a one-node node. */
    private readonly readBarrier: ((timeoutMs: number) => Promise<void>) | null = null,
  ) {}

  /** The signer for the cluster's current secret; null before the cluster has one. */
  sessionSigner(): SessionSigner | null {
    const secret = this.access().sessionSecret();
    if (secret === null) return null;
    if (this.signer?.secret !== secret) this.signer = { secret, signer: new SessionSigner(secret) };
    return this.signer.signer;
  }

  /** Check a user's password, rate limited per user and per address. Returns the user's role. */
  async checkPassword(user: string, password: string, address: string): Promise<{ role: Role; passwordHash: string }> {
    const wait = this.limiter.retryAfterS(user, address);
    if (wait > 0) throw new WebError('WEB_ERR_RATE_LIMITED', `too many failed logins; try again in ${wait}s`, { retryAfterS: wait });
    const first = await this.verify(user, password);
    const verified = first.verified ?? (await this.verifyAfterCatchUp(user, password, first.checkedHash));
    if (!verified) {
      this.limiter.recordFailure(user, address);
      throw new WebError('WEB_ERR_LOGIN_FAILED', 'wrong user name or password');
    }
    return verified;
  }

  private async verify(user: string, password: string): Promise<Checked> {
    const record = this.access().user(user);
    const checkedHash = record?.passwordHash;
    const ok = record ? await verifyPassword(password, record.passwordHash) : await verifyAgainstDecoy(password);
    return { verified: record && ok ? { role: record.role, passwordHash: record.passwordHash } : null, checkedHash };
  }

  /**
   * Users are replicated state: a follower that has not applied the latest user change (right after
   * the cluster started, the entry that creates the admin) would refuse a good password. Catch up
   * with the cluster and check once more, only if the user's record is not the one already checked.
   * That is compared with the hash the first check read, not with what is applied now: the entry
   * may have been applied while the first (scrypt) check ran.
   */
  private async verifyAfterCatchUp(user: string, password: string, checkedHash: string | undefined): Promise<Verified | null> {
    const barrier = this.readBarrier;
    if (!barrier) return null;
    const deadline = performance.now() + FIRST_USER_WAIT_MS;
    for (;;) {
      // No quorum: the barrier times out and the answer comes from what this node has.
      await barrier(CATCH_UP_MS).catch(() => undefined);
      // A cluster with no access data yet: its first leader is still creating the admin user, and
      // nobody can log in before that commits, so waiting a moment for it refuses no one sooner.
      if (this.access().sessionSecret() !== null || performance.now() >= deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const applied = this.access().user(user)?.passwordHash;
    return applied === undefined || applied === checkedHash ? null : (await this.verify(user, password)).verified;
  }

  /** The caller, or null when the request carries no credentials at all. Bad credentials throw. */
  async authenticate(req: FastifyRequest): Promise<Principal | null> {
    const header = req.headers.authorization;
    if (header !== undefined) {
      const space = header.indexOf(' ');
      const scheme = header.slice(0, space).toLowerCase();
      const value = header.slice(space + 1).trim();
      if (space > 0 && scheme === 'bearer') return this.bearer(value);
      if (space > 0 && scheme === 'basic') return this.basic(value, req.ip);
      throw new WebError('WEB_ERR_UNAUTHORIZED', 'unsupported Authorization scheme; use Bearer <token> or Basic');
    }
    const cookie = readCookie(req.headers.cookie, SESSION_COOKIE);
    return cookie === undefined ? null : this.session(cookie);
  }

  private bearer(value: string): Principal {
    const parsed = parseApiToken(value);
    const record = parsed && this.access().token(parsed.id);
    const owner = record && this.access().user(record.user);
    if (!parsed || !record || !owner || !tokenSecretMatches(parsed.secret, record.hash)) {
      throw new WebError('WEB_ERR_UNAUTHORIZED', 'invalid or revoked API token');
    }
    const role = RANK[record.role] <= RANK[owner.role] ? record.role : owner.role;
    return { user: owner.name, role, via: 'token', session: null, tokenId: record.id };
  }

  private async basic(value: string, address: string): Promise<Principal> {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw new WebError('WEB_ERR_UNAUTHORIZED', 'malformed Basic credentials');
    const user = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    const record = this.access().user(user);
    const key = record && createHash('sha256').update(`${user}\0${password}\0${record.passwordHash}`).digest('base64url');
    const now = this.now();
    if (record && key && (this.basicOk.get(key) ?? 0) > now) return { user, role: record.role, via: 'basic', session: null, tokenId: null };
    const { role } = await this.checkPassword(user, password, address);
    if (key) {
      this.basicOk.delete(key);
      this.basicOk.set(key, now + BASIC_CACHE_MS);
      if (this.basicOk.size > BASIC_CACHE_MAX) this.basicOk.delete(this.basicOk.keys().next().value as string);
    }
    return { user, role, via: 'basic', session: null, tokenId: null };
  }

  private session(cookie: string): Principal {
    const signer = this.sessionSigner();
    const claims: SessionClaims | null = signer ? signer.verify(cookie, this.now()) : null;
    const record = claims ? this.access().user(claims.u) : undefined;
    if (!signer || !claims || !record || passwordStamp(record.passwordHash) !== claims.s) {
      throw new WebError('WEB_ERR_UNAUTHORIZED', 'session expired or invalid; log in again');
    }
    return { user: record.name, role: record.role, via: 'session', session: { csrfToken: signer.csrfToken(claims), expiresAt: claims.exp }, tokenId: null };
  }
}
