// NetnsHost: a Host that is a network namespace on this machine (the netns lab): commands run through
// `ip netns exec` (the lab's spawnIn); files are this machine's files, since namespaces share the filesystem.
import { chmod, copyFile, rename, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { spawnIn } from '../lab/netns.js';
import { checked, childProcessHandle, collect } from './child-process.js';
import { HostError } from './errors.js';
import type { CopyOptions, ExecOptions, ExecResult, Host, HostProcess, SpawnOptions } from './types.js';

export class NetnsHost implements Host {
  constructor(
    readonly name: string,
    readonly ns: string,
    readonly address: string,
  ) {}

  async exec(cmd: string, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const child = spawnIn(this.ns, cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const result = await collect(child, this.name, `${cmd} ${args.join(' ')}`, options);
    return checked(this.name, cmd, result, options);
  }

  async copyFile(localPath: string, remotePath: string, options: CopyOptions = {}): Promise<void> {
    // Copy beside the target, then rename: a reader never sees half a file.
    const tmp = join(dirname(remotePath), `.${process.pid}.${Date.now()}.tmp`);
    try {
      await copyFile(localPath, tmp);
      await chmod(tmp, options.mode ?? (await stat(localPath)).mode & 0o7777);
      await rename(tmp, remotePath);
    } catch (err) {
      throw new HostError('HOST_ERR_COPY', this.name, `copy ${localPath} -> ${remotePath} failed`, { cause: err });
    }
  }

  spawn(cmd: string, args: readonly string[], options: SpawnOptions = {}): HostProcess {
    // `ip netns exec` execs in place: the child's pid is the command's own, so signals reach it directly.
    const child = spawnIn(this.ns, cmd, args, { stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    return childProcessHandle(child);
  }

  async close(): Promise<void> {}
}
