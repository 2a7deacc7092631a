// Local child processes as Host commands: bounded run-to-end with output capture, and a HostProcess handle.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { HostError } from './errors.js';
import type { ExecOptions, ExecResult, HostProcess, ProcessExit } from './types.js';

const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_OUTPUT = 16 * 1024 * 1024;

/** A HostProcess over a local child process. */
export function childProcessHandle(child: ChildProcess): HostProcess {
  const exited: Promise<ProcessExit> = new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once('close', (code: number | null, signal: NodeJS.Signals | null) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: null, signal: null }));
  });
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  return {
    stdout: child.stdout!,
    stderr: child.stderr!,
    stdin: child.stdin,
    exited,
    running,
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (running()) child.kill(signal);
    },
  };
}

/** Runs a spawned child to its end within the timeout, collecting its output (bounded). */
export async function collect(child: ChildProcess, host: string, what: string, options: ExecOptions): Promise<ExecResult> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let size = 0;
  const take = (into: Buffer[]) => (chunk: Buffer) => {
    size += chunk.length;
    if (size <= MAX_OUTPUT) into.push(chunk);
  };
  child.stdout?.on('data', take(out));
  child.stderr?.on('data', take(err));
  child.stdin?.on('error', () => undefined);
  child.stdin?.end(options.input ?? '');
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  try {
    const [code, signal] = (await Promise.race([
      once(child, 'close'),
      once(child, 'error').then(([e]) => Promise.reject(e as Error)),
    ])) as [number | null, NodeJS.Signals | null];
    const result = { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), code, signal };
    if (timedOut) throw new HostError('HOST_ERR_TIMEOUT', host, `${what}: no end within ${timeoutMs} ms`, result);
    return result;
  } catch (e) {
    if (e instanceof HostError) throw e;
    throw new HostError('HOST_ERR_COMMAND_FAILED', host, `${what}: could not run`, { cause: e });
  } finally {
    clearTimeout(timer);
  }
}

/** Rejects a non-zero exit unless the caller allowed it. */
export function checked(host: string, cmd: string, result: ExecResult, options: ExecOptions): ExecResult {
  if (result.code === 0 || options.allowFailure) return result;
  const why = result.code === null ? `signal ${result.signal ?? '?'}` : `exit ${result.code}`;
  const tail = result.stderr.trim().split('\n').slice(-3).join(' | ');
  throw new HostError('HOST_ERR_COMMAND_FAILED', host, `${cmd} failed (${why})${tail ? `: ${tail}` : ''}`, result);
}
