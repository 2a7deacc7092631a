// Running programs inside network namespaces, and creating, listing and emptying the namespaces themselves.
import { spawn } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { hostRunner, netnsRunner } from '../../cluster/vip/command-runner.js';
import { isVipError } from '../../cluster/vip/errors.js';
import type { CommandResult, RunOptions } from '../../cluster/vip/types.js';

// The VIP drivers' runner: bounded, no shell, typed errors. The lab shells out the same way the node does.
const host = hostRunner({ timeoutMs: 10_000 });

/** Runs `ip ARGS` in the root namespace; the lab only ever uses it with `-n NS` or for netns add/del/list. */
export function ip(args: readonly string[], options?: RunOptions): Promise<CommandResult> {
  return host.run('ip', args, options);
}

/** Runs `cmd args` inside `ns` and resolves with its output; rejects (VIP_ERR_COMMAND_*) on failure or timeout. */
export function execIn(ns: string, cmd: string, args: readonly string[], options?: RunOptions): Promise<CommandResult> {
  return netnsRunner(ns, host).run(cmd, args, options);
}

/**
 * Starts `cmd args` inside `ns` (e.g. `node ... ballast start --config ...`). `ip netns exec` execs the
 * program in place, so `child.pid` is the program's own pid and killing the child kills the program.
 */
export function spawnIn(ns: string, cmd: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  return spawn('ip', ['netns', 'exec', ns, cmd, ...args], options);
}

export async function listNamespaces(): Promise<string[]> {
  const { stdout } = await ip(['netns', 'list']);
  // "bl-n1 (id: 3)" or "bl-n1"
  return stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((name) => name !== '');
}

export async function addNamespace(ns: string): Promise<void> {
  await ip(['netns', 'add', ns]);
}

/**
 * Two fresh namespaces joined by one veth pair, `eth0` on each side with the given addresses. The pair
 * is made inside `a` with its peer placed straight into `b`: nothing touches the root namespace.
 */
export async function addLinkedPair(a: string, b: string, cidrs: readonly [string, string]): Promise<void> {
  for (const ns of [a, b]) await deleteNamespace(ns).catch(() => undefined);
  await addNamespace(a);
  await addNamespace(b);
  await ip(['-n', a, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', b]);
  for (const [ns, cidr] of [[a, cidrs[0]], [b, cidrs[1]]] as const) {
    await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    await ip(['-n', ns, 'addr', 'add', cidr, 'dev', 'eth0']);
    await ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
  }
}

/**
 * Deletes `ns` after ending the processes still inside it: a namespace with a live process outlives
 * `ip netns del`, and so would its interfaces. These are the lab's own processes (spawnIn), ended by pid.
 */
export async function deleteNamespace(ns: string): Promise<void> {
  for (let attempt = 0; attempt < 30; attempt++) {
    const pids = await namespacePids(ns);
    if (pids.length === 0) break;
    const signal = attempt < 20 ? 'SIGTERM' : 'SIGKILL';
    for (const pid of pids) {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    }
    await sleep(100);
  }
  try {
    await ip(['netns', 'del', ns]);
  } catch (err) {
    if (!(await listNamespaces()).includes(ns)) return;
    throw err;
  }
}

async function namespacePids(ns: string): Promise<number[]> {
  try {
    const { stdout } = await ip(['netns', 'pids', ns]);
    return stdout
      .split('\n')
      .map((line) => Number(line.trim()))
      .filter((pid) => Number.isInteger(pid) && pid > 0 && pid !== process.pid);
  } catch {
    return [];
  }
}

/**
 * Why network namespaces cannot be used here (not root, or the kernel refuses one), or null when a
 * throwaway namespace can be created and deleted. Lab tests skip with this reason; a missing `ip` throws.
 */
export async function namespacesUnavailable(): Promise<string | null> {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  const probe = `blprobe-${process.pid}`;
  try {
    await addNamespace(probe);
  } catch (err) {
    // A missing `ip` is a setup fault (scripts/install-os-deps.sh), not a refusal: let it fail the test.
    if (!isVipError(err, 'VIP_ERR_COMMAND_FAILED')) throw err;
    return `the kernel refused a network namespace: ${err.stderr || err.message}`;
  }
  await deleteNamespace(probe);
  return null;
}
