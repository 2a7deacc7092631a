// First start of a cluster: create the session secret and the admin user from the config, or with
// a generated password printed once in the log. Run by whoever bootstraps the state (the leader).
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { ClusterError } from '../cluster/node/errors.js';
import type { StateStore } from '../cluster/node/types.js';
import type { AccessSource } from '../cluster/state/types.js';
import { generatePassword, hashPassword } from './password.js';

export interface AdminAccount {
  user: string;
  /** null: generate one and print it once. */
  password: string | null;
}

/**
 * Initializes access once per cluster; a no-op when the state already has it. Never throws: when
 * the write cannot commit now, the next leader (or the next start) tries again.
 */
export async function bootstrapAccess(store: StateStore & AccessSource, admin: AdminAccount, logger: Logger, now: () => number = Date.now): Promise<void> {
  if (store.readAccess().sessionSecret() !== null) return;
  const password = admin.password ?? generatePassword();
  const at = now();
  const cmd = {
    v: 2 as const,
    op: 'access.init' as const,
    secret: randomBytes(32).toString('base64url'),
    admin: { name: admin.user, role: 'admin' as const, passwordHash: await hashPassword(password), createdAt: at, updatedAt: at },
  };
  const announce = (note: string) => {
    if (admin.password === null) logger.warn({ user: admin.user }, `generated admin password for "${admin.user}" (shown once; change it with PATCH /api/v1/users/${admin.user}): ${password}${note}`);
  };
  try {
    const r = await store.propose(cmd);
    if (r.ok) {
      logger.info({ user: admin.user }, 'created the admin user');
      announce('');
    } else if (r.error.code !== 'STATE_ERR_CONFLICT') {
      logger.error({ field: r.error.field }, `admin user refused: ${r.error.message}`);
    }
  } catch (err) {
    // A timed-out write may still commit: then this password is the one that works.
    if (err instanceof ClusterError && err.code === 'CLUSTER_ERR_TIMEOUT') announce(' (not confirmed committed; if login fails, the next leader creates another)');
    logger.warn({ err }, 'admin user not created yet; the next leader retries');
  }
}
