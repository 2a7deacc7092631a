// The SYN gate: a tc ingress filter on the VIP's interface that silently drops new TCP connections
// to the VIP (SYN without ACK) while established ones flow, so a planned VIP move can let work in
// flight finish; clients' kernels resend the dropped SYNs (1 s initial RTO) to whoever holds the VIP next.
import type { Logger } from 'pino';
import { isVipError } from './errors.js';
import type { CommandRunner } from './types.js';

/** The filter's fixed preference on the ingress hook: how Ballast finds (and removes) its own filter, and only it. */
export const SYN_GATE_PREF = 47633;

// "Parent Qdisc doesn't exists" (no clsact) / "Cannot find specified filter chain" (no filter at our pref).
const FILTER_ABSENT = /Parent Qdisc doesn.?t exist|Cannot find specified filter|filter not found|No such file or directory/i;
const QDISC_PRESENT = /Exclusivity flag on|File exists/i;
const NO_QDISC = /Parent Qdisc doesn.?t exist/i;
const OTHER_KIND = /kind does not match/i;

/**
 * Classic BPF, run by cls_bpf in direct-action mode at ingress (the frame starts at the Ethernet
 * header): TC_ACT_SHOT for an unfragmented IPv4 TCP segment to `ip` with SYN set and ACK clear,
 * TC_ACT_UNSPEC (next filter, i.e. let it through) for anything else. cls_bpf and cBPF are in
 * nearly every kernel, unlike flower and the gact "drop" action (absent from minimal kernels).
 */
export function synDropBytecode(ip: string): string {
  const dst = ip.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
  const insns: [number, number, number, number][] = [
    [0x28, 0, 0, 12], //  0 ldh [12]              ethertype
    [0x15, 0, 11, 0x0800], //  1 jeq IPv4 ? 2 : pass
    [0x20, 0, 0, 30], //  2 ld [30]               IPv4 destination
    [0x15, 0, 9, dst], //  3 jeq VIP ? 4 : pass
    [0x30, 0, 0, 23], //  4 ldb [23]              protocol
    [0x15, 0, 7, 6], //  5 jeq TCP ? 6 : pass
    [0x28, 0, 0, 20], //  6 ldh [20]              flags + fragment offset
    [0x45, 5, 0, 0x1fff], //  7 jset fragment offset ? pass : 8
    [0xb1, 0, 0, 14], //  8 ldx 4*([14]&0xf)      IP header length
    [0x50, 0, 0, 27], //  9 ldb [x+27]            TCP flags (14 + ihl + 13)
    [0x54, 0, 0, 0x12], // 10 and SYN|ACK
    [0x15, 0, 1, 0x02], // 11 jeq SYN alone ? 12 : pass
    [0x06, 0, 0, 2], // 12 ret TC_ACT_SHOT
    [0x06, 0, 0, 0xffffffff], // 13 pass: ret TC_ACT_UNSPEC
  ];
  return [String(insns.length), ...insns.map((i) => i.join(' '))].join(',');
}

/** The ways to install the filter, tried in order until the kernel takes one. */
function filterVariants(ip: string): { kind: string; args: string[] }[] {
  return [
    { kind: 'bpf', args: ['bpf', 'bytecode', synDropBytecode(ip), 'direct-action'] },
    { kind: 'flower', args: ['flower', 'dst_ip', ip, 'ip_proto', 'tcp', 'tcp_flags', '0x2/0x12', 'action', 'drop'] },
  ];
}

export class SynGate {
  constructor(
    private readonly runner: CommandRunner,
    private readonly iface: string,
    private readonly ip: string,
    private readonly logger: Logger,
    private readonly timeoutMs: number,
  ) {}

  /**
   * Start dropping new connections to the VIP. Resolves true once the filter is in place, false
   * (after a logged warning) when this kernel or host cannot filter: the caller then moves the VIP
   * the old way, which may cost a request that was in flight.
   */
  async close(): Promise<boolean> {
    const failures: string[] = [];
    for (const variant of filterVariants(this.ip)) {
      // `replace` at a fixed handle: one command on the usual path, and never a second copy of the filter.
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          await this.tc(['filter', 'replace', 'dev', this.iface, 'ingress', 'pref', String(SYN_GATE_PREF), 'handle', '1', 'protocol', 'ip', ...variant.args]);
          this.logger.info({ filter: variant.kind }, 'holding off new connections to the VIP');
          return true;
        } catch (err) {
          const stderr = isVipError(err) ? err.stderr : '';
          if (attempt < 2 && NO_QDISC.test(stderr)) {
            if (await this.addClsact(failures)) continue;
            return this.cannot(failures);
          }
          // A filter of the other kind at our preference (left by an older release or run): replace it.
          if (attempt < 2 && OTHER_KIND.test(stderr)) {
            await this.open();
            continue;
          }
          failures.push(`${variant.kind}: ${err instanceof Error ? err.message : String(err)}`);
          if (isVipError(err, 'VIP_ERR_COMMAND_MISSING')) return this.cannot(failures);
          break;
        }
      }
    }
    return this.cannot(failures);
  }

  private async addClsact(failures: string[]): Promise<boolean> {
    try {
      await this.tc(['qdisc', 'add', 'dev', this.iface, 'clsact']);
      return true;
    } catch (err) {
      if (isVipError(err, 'VIP_ERR_COMMAND_FAILED') && QDISC_PRESENT.test(err.stderr)) return true;
      failures.push(`clsact: ${err instanceof Error ? err.message : String(err)}`);
      return false;
    }
  }

  private cannot(failures: string[]): false {
    this.logger.warn({ failures }, 'cannot hold off new connections to the VIP (needs tc and cls_bpf, or flower with gact); moving it without draining');
    return false;
  }

  /** Stop dropping. Idempotent; fails only when a filter is there and could not be removed. */
  async open(): Promise<void> {
    try {
      await this.tc(['filter', 'del', 'dev', this.iface, 'ingress', 'pref', String(SYN_GATE_PREF)]);
      this.logger.info('new connections to the VIP let through again');
    } catch (err) {
      // Without tc there can be no filter of ours.
      if (isVipError(err, 'VIP_ERR_COMMAND_MISSING')) return;
      if (isVipError(err, 'VIP_ERR_COMMAND_FAILED') && FILTER_ABSENT.test(err.stderr)) return;
      throw err;
    }
  }

  /** Whether our filter is on the interface now (asked of the system). */
  async closed(): Promise<boolean> {
    try {
      const { stdout } = await this.tc(['filter', 'show', 'dev', this.iface, 'ingress']);
      return new RegExp(`\\bpref ${SYN_GATE_PREF}\\b`).test(stdout);
    } catch (err) {
      if (isVipError(err, 'VIP_ERR_COMMAND_MISSING')) return false;
      if (isVipError(err, 'VIP_ERR_COMMAND_FAILED') && FILTER_ABSENT.test(err.stderr)) return false;
      throw err;
    }
  }

  private tc(args: string[]): Promise<{ stdout: string; stderr: string }> {
    return this.runner.run('tc', args, { timeoutMs: this.timeoutMs });
  }
}
