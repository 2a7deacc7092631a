// Runners that execute the VIP drivers' commands: on this host (no shell), or inside a netns.
import { spawn } from 'node:child_process';
import { VipError } from './errors.js';
import type { CommandResult, CommandRunner, RunOptions } from './types.js';

const DEFAULT_TIMEOUT_MS = 10_000;
/** More output than any VIP command prints: a runaway program is killed. */
const MAX_OUTPUT = 4 * 1024 * 1024;

interface HostRunnerOptions {
  /** Bound applied when a call gives none. */
  timeoutMs?: number;
}

/**
 * Runs programs on this host. Arguments go to the program as they are: there is no shell to quote for.
 *
 * Not execFile: when the event loop stalls past a command's timeout (seconds, in an emulated VM), its
 * timer fires before the exit is read, and execFile then throws the output away and reports the
 * exit code alone. Here the timer only sends SIGKILL; the outcome is what the process really did, read
 * in full: an exit code (it finished on its own, before the kill) is that program's answer.
 */
export function hostRunner(options: HostRunnerOptions = {}): CommandRunner {
  const defaultTimeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return {
    where: 'host',
    run(file: string, args: readonly string[], runOptions: RunOptions = {}): Promise<CommandResult> {
      const timeoutMs = runOptions.timeoutMs ?? defaultTimeout;
      const command = [file, ...args].join(' ');
      return new Promise((resolve, reject) => {
        // Stable, untranslated messages: the drivers match on iproute2's wording.
        const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
        let stdout = '';
        let stderr = '';
        let timedOut = false;
        let done = false;
        const finish = (outcome: () => void): void => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          runOptions.signal?.removeEventListener('abort', onAbort);
          outcome();
        };
        const collect = (into: 'out' | 'err') => (chunk: string) => {
          if (into === 'out') stdout += chunk;
          else stderr += chunk;
          if (stdout.length + stderr.length > MAX_OUTPUT) child.kill('SIGKILL');
        };
        child.stdout.setEncoding('utf8').on('data', collect('out'));
        child.stderr.setEncoding('utf8').on('data', collect('err'));
        // SIGKILL so the bound holds even for a program that ignores SIGTERM.
        const timer = setTimeout(() => {
          timedOut = true;
          child.kill('SIGKILL');
        }, timeoutMs);
        const onAbort = (): void => {
          child.kill('SIGKILL');
          finish(() => reject(new VipError('VIP_ERR_CANCELLED', `${command} was cancelled`, { stderr: stderr.trim() })));
        };
        if (runOptions.signal?.aborted) onAbort();
        else runOptions.signal?.addEventListener('abort', onAbort, { once: true });
        child.on('error', (err: NodeJS.ErrnoException) => {
          finish(() =>
            reject(
              err.code === 'ENOENT'
                ? new VipError('VIP_ERR_COMMAND_MISSING', `${command}: program not found (install it: scripts/install-os-deps.sh)`, { cause: err })
                : new VipError('VIP_ERR_COMMAND_FAILED', `${command} could not run: ${err.message}`, { cause: err }),
            ),
          );
        });
        child.on('close', (code, signal) => {
          finish(() => {
            if (code === 0) resolve({ stdout, stderr });
            else if (code === null && timedOut) {
              reject(new VipError('VIP_ERR_COMMAND_TIMEOUT', `${command} did not finish within ${timeoutMs} ms`, { stderr: stderr.trim() }));
            } else reject(failed(command, code, signal, stderr));
          });
        });
      });
    },
  };
}

function failed(command: string, code: number | null, signal: NodeJS.Signals | null, stderr: string): VipError {
  const text = stderr.trim();
  const status = code !== null ? `exit ${code}` : `signal ${signal ?? 'unknown'}`;
  return new VipError('VIP_ERR_COMMAND_FAILED', `${command} failed (${status})${text ? `: ${text}` : ''}`, {
    stderr: text,
    ...(code !== null ? { exitCode: code } : {}),
  });
}

/**
 * Runs every command inside network namespace `ns` (`ip netns exec NS FILE ARGS...`), so a driver can be
 * pointed at a lab node. `ip netns exec` execs the program in place, so a timeout kills the program itself.
 */
export function netnsRunner(ns: string, inner: CommandRunner = hostRunner()): CommandRunner {
  return {
    where: `netns ${ns}`,
    run(file: string, args: readonly string[], options?: RunOptions): Promise<CommandResult> {
      return inner.run('ip', ['netns', 'exec', ns, file, ...args], options);
    },
  };
}
