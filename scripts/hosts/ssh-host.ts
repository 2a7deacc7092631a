// SshHost: a Host reached over SSH (Vagrant or qemu VMs, appliances in a rack), through node-ssh, the
// maintained promise wrapper over ssh2: exec, SFTP upload and raw channels for long-running commands.
import { createInterface } from 'node:readline';
import { PassThrough } from 'node:stream';
import type { Duplex, Readable } from 'node:stream';
import { NodeSSH } from 'node-ssh';
import { HostError } from './errors.js';
import { checked } from './child-process.js';
import { commandLine, quoteWord } from './shell-quote.js';
import type { CopyOptions, ExecOptions, ExecResult, Host, HostProcess, ProcessExit, SpawnOptions } from './types.js';

const DEFAULT_TIMEOUT_MS = 30_000;

// The slice of ssh2's session channel and client this module uses (@types/ssh2 is not installed).
interface SessionChannel extends Duplex {
  readonly stderr: Readable;
  signal(name: string): boolean;
  close(): void;
}
interface SessionClient {
  exec(command: string, callback: (err: Error | undefined, channel: SessionChannel) => void): unknown;
}

export interface SshHostOptions {
  /** Short name for reports (n1). */
  name: string;
  /** The host's address on the private network, as its peers know it. Default: `host`. */
  address?: string;
  /** Where to connect for SSH (may differ from `address`: a forwarded 127.0.0.1 port, say). */
  host: string;
  port?: number;
  username: string;
  privateKeyPath?: string;
  privateKey?: string;
  /** Prefix commands with `sudo -n` (a non-root login such as Vagrant's `vagrant`). */
  sudo?: boolean;
  /** Bound on the TCP connect plus SSH handshake. Default 20 s. */
  connectTimeoutMs?: number;
  /** Checks the server's host key; without it any key is accepted (lab VMs on a private network only). */
  hostVerifier?: (key: Buffer) => boolean;
}

export class SshHost implements Host {
  readonly name: string;
  readonly address: string;
  private closed = false;

  private constructor(
    private readonly ssh: NodeSSH,
    private readonly options: SshHostOptions,
  ) {
    this.name = options.name;
    this.address = options.address ?? options.host;
    // ssh2 emits 'error' on the client when the peer vanishes (a VM powered off, a keepalive timeout);
    // unheard, that would end the whole process. The host is closed from then on: calls say so.
    const client = ssh.connection as unknown as { on(event: 'error' | 'close', listener: () => void): void } | null;
    client?.on('error', () => {
      this.closed = true;
    });
    client?.on('close', () => {
      this.closed = true;
    });
  }

  static async connect(options: SshHostOptions): Promise<SshHost> {
    const ssh = new NodeSSH();
    try {
      await ssh.connect({
        host: options.host,
        port: options.port ?? 22,
        username: options.username,
        ...(options.privateKeyPath !== undefined ? { privateKeyPath: options.privateKeyPath } : {}),
        ...(options.privateKey !== undefined ? { privateKey: options.privateKey } : {}),
        ...(options.hostVerifier !== undefined ? { hostVerifier: options.hostVerifier } : {}),
        readyTimeout: options.connectTimeoutMs ?? 20_000,
        // A VM under software emulation on a busy machine can stall for tens of seconds: 60 s of silence
        // before the connection is given up.
        keepaliveInterval: 10_000,
        keepaliveCountMax: 6,
      });
    } catch (err) {
      ssh.dispose();
      const where = `${options.username}@${options.host}:${options.port ?? 22}`;
      throw new HostError('HOST_ERR_CONNECT', options.name, `ssh ${where} failed`, { cause: err });
    }
    return new SshHost(ssh, options);
  }

  private line(cmd: string, args: readonly string[]): string {
    const line = commandLine(cmd, args);
    return this.options.sudo ? `sudo -n ${line}` : line;
  }

  async exec(cmd: string, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    if (this.closed) throw new HostError('HOST_ERR_CLOSED', this.name, 'the SSH connection is closed');
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    let channel: SessionChannel | null = null;
    let timer: NodeJS.Timeout | undefined;
    const run = this.ssh.execCommand(this.line(cmd, args), {
      stdin: options.input ?? '',
      noTrim: true,
      onChannel: (c: SessionChannel) => {
        channel = c;
      },
    });
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const c = channel;
        c?.signal('KILL');
        c?.close();
        reject(new HostError('HOST_ERR_TIMEOUT', this.name, `${cmd}: no end within ${timeoutMs} ms`));
      }, timeoutMs);
    });
    try {
      const r = await Promise.race([run, timeout]);
      return checked(this.name, cmd, { stdout: r.stdout, stderr: r.stderr, code: r.code, signal: r.signal }, options);
    } catch (err) {
      if (err instanceof HostError) throw err;
      throw new HostError('HOST_ERR_COMMAND_FAILED', this.name, `${cmd}: could not run over SSH`, { cause: err });
    } finally {
      clearTimeout(timer);
      run.catch(() => undefined);
    }
  }

  async copyFile(localPath: string, remotePath: string, options: CopyOptions = {}): Promise<void> {
    // SFTP into a temp name, then one `install` (as root under sudo) that sets the mode and renames into place.
    const tmp = `/tmp/.host-copy-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
    try {
      await this.ssh.putFile(localPath, tmp);
    } catch (err) {
      throw new HostError('HOST_ERR_COPY', this.name, `upload ${localPath} -> ${tmp} failed`, { cause: err });
    }
    const mode = (options.mode ?? 0o644).toString(8);
    const dest = quoteWord(remotePath);
    const script = `install -m ${mode} ${quoteWord(tmp)} ${dest}.new && mv -f ${dest}.new ${dest}; s=$?; rm -f ${quoteWord(tmp)}; exit $s`;
    await this.exec('sh', ['-c', script]);
  }

  spawn(cmd: string, args: readonly string[], options: SpawnOptions = {}): HostProcess {
    // The remote shell prints its pid and then execs the command, so the pid is the command's: kill()
    // signals it by pid over a second channel (OpenSSH ignores most channel signal requests).
    const line = `sh -c ${quoteWord('echo "$$"; exec "$@"')} sh ${this.line(cmd, args)}`;
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const stdin = options.stdin ? new PassThrough() : null;
    let pid: number | null = null;
    let ended = false;
    let resolvePid: (p: number | null) => void = () => undefined;
    const pidKnown = new Promise<number | null>((resolve) => {
      resolvePid = resolve;
    });
    let resolveExit: (e: ProcessExit) => void = () => undefined;
    const exited = new Promise<ProcessExit>((resolve) => {
      resolveExit = resolve;
    });
    const finish = (exit: ProcessExit): void => {
      if (ended) return;
      ended = true;
      resolvePid(pid);
      stdout.end();
      stderr.end();
      resolveExit(exit);
    };
    const connection = this.closed ? null : (this.ssh.connection as SessionClient | null);
    if (connection === null) {
      stderr.write('the SSH connection is closed\n');
      finish({ code: null, signal: null });
    } else {
      connection.exec(line, (err, channel) => {
        if (err) {
          stderr.write(`${err.message}\n`);
          finish({ code: null, signal: null });
          return;
        }
        let exit: ProcessExit = { code: null, signal: null };
        channel.on('exit', (code: number | null, signal?: string) => {
          exit = { code: typeof code === 'number' ? code : null, signal: signal ?? null };
        });
        channel.once('close', () => finish(exit));
        channel.stderr.pipe(stderr, { end: false });
        const lines = createInterface({ input: channel });
        let first = true;
        lines.on('line', (l) => {
          if (!first) {
            stdout.write(`${l}\n`);
            return;
          }
          first = false;
          const n = Number(l.trim());
          pid = Number.isInteger(n) && n > 0 ? n : null;
          resolvePid(pid);
        });
        if (stdin) stdin.pipe(channel);
        else channel.end();
      });
    }
    const kill = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
      const target = await pidKnown;
      if (target === null || ended) return;
      await this.exec('kill', [`-${signal.replace(/^SIG/, '')}`, String(target)], { allowFailure: true, timeoutMs: 10_000 });
    };
    return { stdout, stderr, stdin, exited, running: () => !ended, kill };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.ssh.dispose();
  }
}
