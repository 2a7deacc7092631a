// Contracts of the VIP layer: the driver seam, the command runner it shells out through, and their options.
import type { Logger } from 'pino';

/**
 * Raises and drops the floating virtual IP on this host. The node calls `check()` once at start,
 * `acquire()` when it may hold the VIP (leader with a valid lease) and `release()` the moment it may not.
 * `acquire` and `release` are idempotent: calling either twice is not an error.
 */
export interface VipDriver {
  /** The VIP as configured, `a.b.c.d/nn`. */
  readonly address: string;
  /** Fails with VIP_ERR_NO_INTERFACE (or VIP_ERR_BAD_ADDRESS) if this host cannot carry the VIP. */
  check(): Promise<void>;
  acquire(): Promise<void>;
  release(): Promise<void>;
  /** Whether the address is on the interface now (asked of the system, not remembered). */
  held(): Promise<boolean>;
  /**
   * A planned move's first step: while this host holds the VIP, stop taking NEW connections on it
   * without refusing them (their SYNs are dropped, so clients' kernels resend them, to the next
   * holder), established ones untouched. Resolves true once in place; false when the VIP is not
   * held here or this host cannot do it (logged: the move then goes ahead as before).
   * `acquire`, `release` and `unquiesce` all lift it.
   */
  quiesce(): Promise<boolean>;
  /** Lifts quiesce(). Idempotent. */
  unquiesce(): Promise<void>;
  /**
   * Connections on the VIP that releasing it now would break, as the kernel sees them: not yet
   * accepted by a worker, or with bytes the client has not acknowledged. 0 when unknown.
   */
  pendingConnections(): Promise<number>;
  /** The sockets behind pendingConnections(), for a log line that says what held a drain up. */
  pendingSockets(): Promise<PendingSocket[]>;
}

/** One socket a VIP release would strand, as /proc/net/tcp shows it (addresses made readable). */
export interface PendingSocket {
  local: string;
  remote: string;
  state: string;
  txQueue: number;
  rxQueue: number;
  why: 'accept-queue' | 'half-open' | 'unacknowledged';
  /** What it adds to pendingConnections(): 1, or a listener's accept queue length. */
  weight: number;
  /** The rest of its /proc/net/tcp line as printed (timer, retransmits, uid, timeout, inode, ...). */
  proc: string;
}

export interface CommandResult {
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Kill the command after this long; defaults to the runner's own bound. */
  timeoutMs?: number;
  /** Aborting kills the command and rejects with VIP_ERR_CANCELLED. */
  signal?: AbortSignal;
}

/**
 * Runs one program with arguments, never through a shell. Rejects with a VipError carrying the exit
 * status and stderr when the program fails, times out, is missing or is cancelled.
 */
export interface CommandRunner {
  /** For log lines and error messages: where commands run ("host", "netns bl-n1"). */
  readonly where: string;
  run(file: string, args: readonly string[], options?: RunOptions): Promise<CommandResult>;
}

/** Names of the network interfaces where the driver's commands run. */
export type InterfaceLister = () => Promise<string[]>;

export interface GarpOptions {
  /** Rounds sent after the first one (keepalived: garp_master_repeat). Default 1. */
  repeats: number;
  /** Pause before each repeated round (keepalived: garp_master_delay). Default 5000. */
  delayMs: number;
  /** Packets per arping call (`-c`). Default 3. */
  count: number;
}

export interface LinuxVipOptions {
  /** `a.b.c.d/nn`, IPv4 only (gratuitous ARP has no IPv6 meaning). */
  address: string;
  interface: string;
  logger: Logger;
  /** Defaults to running on this host (hostRunner). */
  runner?: CommandRunner;
  /** Default: systeminformation's view of this host without a runner, `ip -o link show` through the runner with one. */
  interfaces?: InterfaceLister;
  garp?: Partial<GarpOptions>;
  /** Bound on each `ip` call. Default 5000. */
  commandTimeoutMs?: number;
}

export interface NoopVipOptions {
  address: string;
  interface: string;
  logger: Logger;
}
