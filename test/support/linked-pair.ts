// Two namespaces joined by a veth pair (eth0 in each), made before a lab test file's tests and removed
// after them, or, where the kernel refuses namespaces, the reason the file's tests are skipped; and a
// real daemon started inside one of them.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { addLinkedPair, deleteNamespace, namespacesUnavailable, spawnIn } from '../../scripts/lab/netns.js';

const CLI = join(import.meta.dirname, '../../cli/ballast.ts');

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

export interface NetnsDaemon {
  child: ChildProcess;
  /** Everything it logged so far (stdout and stderr), for failure messages. */
  output(): string;
  exited: Promise<unknown>;
}

/** `ballast start --config` as systemd would run it, inside namespace `ns`, its stop record in `runtimeDir`. */
export function startDaemonIn(ns: string, config: string, runtimeDir: string, logLevel = 'info'): NetnsDaemon {
  const child = spawnIn(ns, process.execPath, ['--import', 'tsx', CLI, 'start', '--config', config], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RUNTIME_DIRECTORY: runtimeDir, BALLAST_LOG_LEVEL: logLevel },
  });
  let output = '';
  const keep = (d: Buffer): void => {
    output = (output + d.toString()).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return { child, output: () => output, exited: once(child, 'exit') };
}
