// The Host seam: one machine that operator tooling (deploy, failover drill) drives, whatever it is:
// a network namespace on this box (netns-host) or a VM or server over SSH (ssh-host).
import type { Readable, Writable } from 'node:stream';

export interface ExecOptions {
  /** Kill the command and reject (HOST_ERR_TIMEOUT) after this long. Default 30 s. */
  timeoutMs?: number;
  /** Written to the command's stdin, which is then closed. */
  input?: string;
  /** Resolve with the result even when the command exits non-zero (default: reject HOST_ERR_COMMAND_FAILED). */
  allowFailure?: boolean;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** Exit status; null when a signal ended the command. */
  code: number | null;
  signal: string | null;
}

export interface CopyOptions {
  /** File mode to set on the copy, e.g. 0o640. Default: the source file's mode. */
  mode?: number;
}

export interface SpawnOptions {
  /** Keep stdin open for writing (default: closed at once). */
  stdin?: boolean;
}

export interface ProcessExit {
  code: number | null;
  signal: string | null;
}

/** A long-running command on a host (a daemon, a client loop, a resident agent). */
export interface HostProcess {
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Present when spawned with `stdin: true`. */
  readonly stdin: Writable | null;
  /** Settles once the command has ended (never rejects). */
  readonly exited: Promise<ProcessExit>;
  /** True until the command has ended. */
  running(): boolean;
  /** Sends `signal` (default SIGTERM) to the command itself, on its host. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface Host {
  /** Short name (n1, b1, c1): how reports and errors name it. */
  readonly name: string;
  /** The address other hosts reach it at (its private-network IP). */
  readonly address: string;
  /** Runs `cmd args` (no shell: arguments are passed as they are) and resolves once it ends. */
  exec(cmd: string, args: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** Copies a local file onto the host at `remotePath` (overwritten), atomically where the host allows. */
  copyFile(localPath: string, remotePath: string, options?: CopyOptions): Promise<void>;
  /** Starts `cmd args` and returns at once. */
  spawn(cmd: string, args: readonly string[], options?: SpawnOptions): HostProcess;
  /** Ends whatever connection the host holds (not the processes it spawned). */
  close(): Promise<void>;
}
