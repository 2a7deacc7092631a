// The linux VIP driver: `ip addr add/del` on the interface plus gratuitous ARP, through a command runner;
// for planned moves, a SYN gate (tc) that holds off new connections and the kernel's count of work on the VIP.
import type { Logger } from 'pino';
import { hostRunner } from './command-runner.js';
import { VipError, isVipError } from './errors.js';
import { DEFAULT_GARP, GarpAnnouncer } from './garp.js';
import { assertInterfaceExists, runnerInterfaces, systemInterfaces } from './interfaces.js';
import { SynGate } from './syn-gate.js';
import type { CommandRunner, InterfaceLister, LinuxVipOptions, PendingSocket, VipDriver } from './types.js';
import { parseVipAddress } from './vip-address.js';
import type { VipAddress } from './vip-address.js';
import { pendingOnVip, pendingSocketsOnVip } from './vip-sockets.js';

// iproute2 wording for "already there" / "not there", old (RTNETLINK) and new (extack) kernels.
const ALREADY_PRESENT = /File exists|Address already assigned/i;
const ALREADY_ABSENT = /Cannot assign requested address|Address not found/i;
const NO_DEVICE = /does not exist|Cannot find device/i;

export class LinuxVipDriver implements VipDriver {
  readonly address: string;
  readonly interface: string;
  private readonly vip: VipAddress;
  private readonly runner: CommandRunner;
  /** The runner the caller gave (commands run elsewhere, e.g. in a namespace); null: this host. */
  private readonly remote: CommandRunner | null;
  private readonly interfaces: InterfaceLister;
  private readonly logger: Logger;
  private readonly timeoutMs: number;
  private readonly garp: GarpAnnouncer;
  private readonly gate: SynGate;
  /** Serializes acquire/release so they take effect in call order even when the caller does not wait. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Set once this instance has announced the VIP; a repeated acquire then does not re-announce. */
  private announced = false;

  constructor(options: LinuxVipOptions) {
    this.vip = parseVipAddress(options.address);
    this.address = this.vip.cidr;
    this.interface = options.interface;
    this.runner = options.runner ?? hostRunner();
    this.remote = options.runner ?? null;
    // A runner may point elsewhere (a namespace): then ask there, since this process sees only its own host.
    this.interfaces = options.interfaces ?? (options.runner ? runnerInterfaces(this.runner) : systemInterfaces);
    this.timeoutMs = options.commandTimeoutMs ?? 5000;
    this.logger = options.logger.child({ vip: this.vip.cidr, iface: this.interface, where: this.runner.where });
    this.garp = new GarpAnnouncer(this.runner, this.interface, this.vip.ip, { ...DEFAULT_GARP, ...options.garp }, this.logger);
    this.gate = new SynGate(this.runner, this.interface, this.vip.ip, this.logger, this.timeoutMs);
  }

  async check(): Promise<void> {
    await assertInterfaceExists(this.interface, this.interfaces, this.runner.where);
  }

  acquire(): Promise<void> {
    return this.serialize(async () => {
      // A gate left by a move that never finished (a crash mid-move) would black-hole every new
      // connection to the holder: it goes before the address may be raised, or the raise fails.
      // One after the other: heldPrefix names a missing interface (VIP_ERR_NO_INTERFACE); run side
      // by side, tc's own "Cannot find device" could win the race and hide that.
      const prefix = await this.heldPrefix();
      await this.gate.open();
      if (prefix === null) {
        try {
          await this.ip(['addr', 'add', this.vip.cidr, 'dev', this.interface]);
        } catch (err) {
          if (!(isVipError(err, 'VIP_ERR_COMMAND_FAILED') && ALREADY_PRESENT.test(err.stderr))) throw err;
        }
        this.logger.info('VIP acquired');
        this.announced = false;
      }
      if (!this.announced) {
        this.announced = true;
        this.garp.start();
      }
    });
  }

  release(): Promise<void> {
    // Stop announcing at once, not after whatever is queued ahead: a deposed leader must go quiet.
    this.garp.cancel();
    const released = this.serialize(async () => {
      this.garp.cancel();
      this.announced = false;
      // The configured prefix first: one command on the usual path (the caller waits on it before
      // the next leader may campaign); the prefix actually on the interface only if that one is not.
      if (await this.deleteAddress(this.vip.prefix)) return;
      const prefix = await this.heldPrefix();
      if (prefix !== null && prefix !== this.vip.prefix) await this.deleteAddress(prefix);
    });
    // The gate goes once the address is gone (lifted earlier, a SYN could open a connection here that the
    // release strands), queued so it precedes any later acquire, but not waited for: the next leader need
    // not wait on it, and acquire lifts it too. Also clears a gate a crashed run left (startup releases).
    void this.serialize(() => this.gate.open()).catch((err: unknown) => this.logger.error({ err }, 'could not lift the SYN gate after releasing the VIP'));
    return released;
  }

  /** `ip addr del` with this prefix: true if it removed the VIP, false if it was not there so. */
  private async deleteAddress(prefix: number): Promise<boolean> {
    try {
      await this.ip(['addr', 'del', `${this.vip.ip}/${prefix}`, 'dev', this.interface]);
    } catch (err) {
      if (isVipError(err, 'VIP_ERR_COMMAND_FAILED') && ALREADY_ABSENT.test(err.stderr)) return false;
      if (isVipError(err, 'VIP_ERR_COMMAND_FAILED') && NO_DEVICE.test(err.stderr)) {
        throw new VipError('VIP_ERR_NO_INTERFACE', `interface "${this.interface}" does not exist on ${this.runner.where}`, { cause: err, stderr: err.stderr });
      }
      throw err;
    }
    this.logger.info('VIP released');
    return true;
  }

  quiesce(): Promise<boolean> {
    return this.serialize(async () => {
      // Both at once (a planned move waits on this); not held here means no gate, so it comes off again.
      const [prefix, gated] = await Promise.all([this.heldPrefix(), this.gate.close()]);
      if (prefix !== null) return gated;
      if (gated) await this.gate.open();
      return false;
    });
  }

  unquiesce(): Promise<void> {
    return this.serialize(() => this.gate.open());
  }

  async pendingConnections(): Promise<number> {
    try {
      return await pendingOnVip(this.vip.ip, this.remote, this.timeoutMs);
    } catch (err) {
      this.logger.warn({ err }, 'cannot read the kernel sockets on the VIP (/proc/net/tcp); counting none');
      return 0;
    }
  }

  async pendingSockets(): Promise<PendingSocket[]> {
    try {
      return await pendingSocketsOnVip(this.vip.ip, this.remote, this.timeoutMs);
    } catch (err) {
      this.logger.warn({ err }, 'cannot read the kernel sockets on the VIP (/proc/net/tcp)');
      return [];
    }
  }

  /** Whether the SYN gate is on the interface once the operations queued so far are done (asked of the system). */
  quiesced(): Promise<boolean> {
    return this.serialize(() => this.gate.closed());
  }

  async held(): Promise<boolean> {
    return (await this.heldPrefix()) !== null;
  }

  /** Resolves when the gratuitous ARP schedule started by the last acquire has finished or was cancelled. */
  whenAnnounced(): Promise<void> {
    return this.garp.settled();
  }

  /** The prefix length the VIP's IP is configured with on the interface, or null when it is not there. */
  private async heldPrefix(): Promise<number | null> {
    let stdout: string;
    try {
      ({ stdout } = await this.ip(['-j', '-4', 'addr', 'show', 'dev', this.interface]));
    } catch (err) {
      if (isVipError(err, 'VIP_ERR_COMMAND_FAILED') && NO_DEVICE.test(err.stderr)) {
        throw new VipError('VIP_ERR_NO_INTERFACE', `interface "${this.interface}" does not exist on ${this.runner.where}`, {
          cause: err,
          stderr: err.stderr,
        });
      }
      throw err;
    }
    return findPrefix(stdout, this.vip.ip);
  }

  private ip(args: string[]): Promise<{ stdout: string; stderr: string }> {
    return this.runner.run('ip', args, { timeoutMs: this.timeoutMs });
  }

  private serialize<T>(op: () => Promise<T>): Promise<T> {
    const next = this.queue.then(op, op);
    this.queue = next.catch(() => undefined);
    return next;
  }
}

/** Reads `ip -j addr show` output: the prefix length of `ip` if any interface entry carries it. */
export function findPrefix(json: string, ip: string): number | null {
  const parsed: unknown = JSON.parse(json.trim() === '' ? '[]' : json);
  if (!Array.isArray(parsed)) return null;
  for (const link of parsed as unknown[]) {
    if (!isRecord(link) || !Array.isArray(link['addr_info'])) continue;
    for (const info of link['addr_info'] as unknown[]) {
      if (isRecord(info) && info['local'] === ip && typeof info['prefixlen'] === 'number') return info['prefixlen'];
    }
  }
  return null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
