// The key certificate private keys are sealed with: derived from the cluster secret, so every
// member opens what any member sealed. A one-node cluster has no secret; it keeps a random one
// in its data directory (0600), which seals the keys in its own WAL and snapshots just the same.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deriveSealKey, type SealKey } from '../../lb/tls/key-seal.js';

export const LOCAL_SEAL_FILE = 'certificate-seal.secret';

export function sealKeyFor(clusterSecret: string | null, dataDir: string): SealKey {
  if (clusterSecret !== null && clusterSecret !== '') return deriveSealKey(clusterSecret);
  const path = join(dataDir, LOCAL_SEAL_FILE);
  let secret: string;
  try {
    secret = readFileSync(path, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    secret = randomBytes(32).toString('base64url');
    // wx: two starts racing never overwrite each other's secret (the loser reads the winner's).
    try {
      writeFileSync(path, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      secret = readFileSync(path, 'utf8').trim();
    }
  }
  return deriveSealKey(secret);
}
