// Two namespaces joined by a veth pair (eth0 in each), made before a lab test file's tests and removed
// after them; or, where the kernel refuses namespaces, the reason the file's tests are skipped.
import { after, before } from 'node:test';
import { addLinkedPair, deleteNamespace, namespacesUnavailable } from '../../scripts/lab/netns.js';

export interface LinkedPair {
  /** Namespace names, unique to this process (`<tag><pid>-a`, `-b`). */
  a: string;
  b: string;
  /** For node:test's `skip`: false, or why namespaces cannot be made here. */
  skip: string | false;
}

/**
 * `what` names the file's tests in the printed skip reason; `cidrs` go on a's and b's eth0.
 * `setUp` runs after the pair exists; `tearDown` before it is removed (also when skipped).
 */
export async function linkedPairLab(
  what: string,
  tag: string,
  cidrs: readonly [string, string],
  hooks: { setUp?: () => Promise<void>; tearDown?: () => Promise<void> } = {},
): Promise<LinkedPair> {
  const unavailable = await namespacesUnavailable();
  if (unavailable !== null) console.log(`${what} skipped: ${unavailable}`);
  const pair: LinkedPair = { a: `${tag}${process.pid % 100000}-a`, b: `${tag}${process.pid % 100000}-b`, skip: unavailable ?? false };
  before(async () => {
    if (unavailable !== null) return;
    await addLinkedPair(pair.a, pair.b, cidrs);
    await hooks.setUp?.();
  });
  after(async () => {
    await hooks.tearDown?.();
    if (unavailable !== null) return;
    await deleteNamespace(pair.a).catch(() => undefined);
    await deleteNamespace(pair.b).catch(() => undefined);
  });
  return pair;
}
