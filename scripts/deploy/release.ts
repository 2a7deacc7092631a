// A release on one node: staged beside the running one, swapped in by two renames, rolled back the same way.
import type { DeployTarget } from './types.js';
import { DeployError } from './errors.js';

const next = (t: DeployTarget): string => `${t.installDir}.next`;
const prev = (t: DeployTarget): string => `${t.installDir}.prev`;

/** Uploads and unpacks the tarball into `<installDir>.next` and proves it loads; touches nothing running. */
export async function stageRelease(target: DeployTarget, tarball: string): Promise<string> {
  const { host } = target;
  const remote = `/tmp/ballast-release-${process.pid}.tar.gz`;
  try {
    await host.copyFile(tarball, remote, { mode: 0o600 });
    await host.exec('sh', ['-c', 'rm -rf "$1" && mkdir -p "$1" && tar -xzf "$2" -C "$1" --no-same-owner && rm -f "$2"', 'sh', next(target), remote], { timeoutMs: 180_000 });
    // The CLI loads the whole tree: a release that cannot print its help is not swapped in.
    await host.exec('node', [`${next(target)}/bin/ballast.js`, 'help'], { timeoutMs: 120_000 });
    const v = await host.exec('cat', [`${next(target)}/VERSION`], { allowFailure: true });
    return v.code === 0 ? v.stdout.trim() : 'unknown';
  } catch (err) {
    throw new DeployError('DEPLOY_ERR_STAGE', `${host.name}: staging ${tarball} failed: ${(err as Error).message}`, { cause: err });
  }
}

/** Makes the staged release the installed one, keeping the old as `.prev`. The daemon is not restarted. */
export async function swapIn(target: DeployTarget): Promise<void> {
  await target.host.exec('sh', ['-c', 'rm -rf "$3" && mv "$1" "$3" && mv "$2" "$1"', 'sh', target.installDir, next(target), prev(target)]);
}

/** Puts `.prev` back in place (the failed release is kept as `.failed` for a look). */
export async function rollBack(target: DeployTarget): Promise<void> {
  await target.host.exec('sh', ['-c', 'rm -rf "$1.failed" && mv "$1" "$1.failed" && mv "$2" "$1"', 'sh', target.installDir, prev(target)]);
}

/** Removes a staged release that will not be used (an aborted deploy). */
export async function dropStaged(target: DeployTarget): Promise<void> {
  await target.host.exec('rm', ['-rf', next(target)], { allowFailure: true });
}

export async function restartDaemon(target: DeployTarget): Promise<void> {
  const [cmd, ...args] = target.restart;
  if (cmd === undefined) throw new DeployError('DEPLOY_ERR_CONFIG', `${target.host.name}: empty restart command`);
  await target.host.exec(cmd, args, { timeoutMs: 120_000 });
}
