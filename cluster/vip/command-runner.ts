// Runners that execute the VIP drivers' commands: on this host via execFile (no shell), or inside a netns.
import { execFile } from 'node:child_process';
import type { ExecFileException } from 'node:child_process';
import { VipError } from './errors.js';
import type { CommandResult, CommandRunner, RunOptions } from './types.js';

const DEFAULT_TIMEOUT_MS = 10_000;

interface ExecFileRunnerOptions {
  /** Bound applied when a call gives none. */
  timeoutMs?: number;
}

/** Runs programs on this host. Arguments go to the program as they are: there is no shell to quote for. */
export function execFileRunner(options: ExecFileRunnerOptions = {}): CommandRunner {
  const defaultTimeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return {
    where: 'host',
    run(file: string, args: readonly string[], runOptions: RunOptions = {}): Promise<CommandResult> {
      const timeoutMs = runOptions.timeoutMs ?? defaultTimeout;
      const command = [file, ...args].join(' ');
      return new Promise((resolve, reject) => {
        execFile(
          file,
          args,
          {
            timeout: timeoutMs,
            // SIGKILL so the bound holds even for a program that ignores SIGTERM.
            killSignal: 'SIGKILL',
            encoding: 'utf8',
            maxBuffer: 4 * 1024 * 1024,
            // Stable, untranslated messages: the drivers match on iproute2's wording.
            env: { ...process.env, LC_ALL: 'C' },
            ...(runOptions.signal ? { signal: runOptions.signal } : {}),
          },
          (err, stdout, stderr) => {
            if (err === null) {
              resolve({ stdout, stderr });
              return;
            }
            reject(toVipError(err, command, stderr, timeoutMs));
          },
        );
      });
    },
  };
}

function toVipError(err: ExecFileException, command: string, stderr: string, timeoutMs: number): VipError {
  const text = stderr.trim();
  if (err.name === 'AbortError') {
    return new VipError('VIP_ERR_CANCELLED', `${command} was cancelled`, { cause: err, stderr: text });
  }
  if (err.code === 'ENOENT') {
    return new VipError('VIP_ERR_COMMAND_MISSING', `${command}: program not found (install it: scripts/install-os-deps.sh)`, {
      cause: err,
    });
  }
  if (err.killed === true && err.signal === 'SIGKILL') {
    return new VipError('VIP_ERR_COMMAND_TIMEOUT', `${command} did not finish within ${timeoutMs} ms`, { cause: err, stderr: text });
  }
  const exitCode = typeof err.code === 'number' ? err.code : undefined;
  const status = exitCode !== undefined ? `exit ${exitCode}` : `signal ${err.signal ?? 'unknown'}`;
  return new VipError('VIP_ERR_COMMAND_FAILED', `${command} failed (${status})${text ? `: ${text}` : ''}`, {
    cause: err,
    stderr: text,
    ...(exitCode !== undefined ? { exitCode } : {}),
  });
}

/**
 * Runs every command inside network namespace `ns` (`ip netns exec NS FILE ARGS...`), so a driver can be
 * pointed at a lab node. `ip netns exec` execs the program in place, so a timeout kills the program itself.
 */
export function netnsRunner(ns: string, inner: CommandRunner = execFileRunner()): CommandRunner {
  return {
    where: `netns ${ns}`,
    run(file: string, args: readonly string[], options?: RunOptions): Promise<CommandResult> {
      return inner.run('ip', ['netns', 'exec', ns, file, ...args], options);
    },
  };
}
