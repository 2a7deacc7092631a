// PeerReports: every few seconds this node sends its own report (Raft view, host stats, traffic
// counters) to its peers over the Raft peer link, and keeps the last report each peer sent. The
// peer link is already authenticated (TLS-PSK), so no node needs another node's admin URL or
// credentials; ages are measured on the receiver's clock, so clock skew between nodes does not matter.
import type { Logger } from 'pino';
import type { NodeReport, NodeReportEntry, NodeReportSource, NodeReportStatus } from './types.js';

export interface PeerReportsOptions {
  self: string;
  /** Every member id, this node included (read on each view: membership may change). */
  members(): readonly string[];
  /** Builds this node's report; a rejection skips one round (logged at debug). */
  make(): Promise<NodeReport>;
  /** Sends this node's report to every peer (best effort: the transport drops what it cannot deliver). */
  send(report: NodeReport): void;
  logger: Logger;
  /** Default 2000 ms. */
  everyMs?: number;
  /** Wall clock for ages; default Date.now. */
  now?: () => number;
}

const ROLES = new Set(['leader', 'follower', 'candidate', 'pre-candidate', 'learner', 'unknown']);
const MAX_INTERFACES = 64;
const MAX_BACKENDS = 4096;
const OWN_REPORT_TTL_MS = 1000;

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const numOrNull = (v: unknown): boolean => v === null || isNum(v);

/** A peer runs the same release, but a report is still checked field by field before the API serves it. */
export function isNodeReport(v: unknown): v is NodeReport {
  if (!isObj(v) || typeof v['node'] !== 'string' || !isNum(v['at'])) return false;
  const r = v['raft'];
  if (!isObj(r) || !ROLES.has(r['role'] as string) || !isNum(r['term']) || !(r['leader'] === null || typeof r['leader'] === 'string')) return false;
  if (!isNum(r['commitIndex']) || !isNum(r['lastIndex']) || !numOrNull(r['leaderContactMs'])) return false;
  const s = v['stats'];
  if (s !== null) {
    if (!isObj(s) || !isObj(s['cpu']) || !isNum(s['cpu']['percent']) || !isNum(s['cpu']['cores'])) return false;
    if (!isObj(s['memory']) || !isNum(s['memory']['total']) || !isNum(s['memory']['used']) || !isNum(s['uptimeSec'])) return false;
    if (!Array.isArray(s['load']) || !s['load'].every(isNum) || !Array.isArray(s['interfaces']) || s['interfaces'].length > MAX_INTERFACES) return false;
    const ifaceOk = (i: unknown) => isObj(i) && typeof i['name'] === 'string' && typeof i['ip4'] === 'string' && typeof i['up'] === 'boolean' && numOrNull(i['rxBytesPerSec']) && numOrNull(i['txBytesPerSec']);
    if (!s['interfaces'].every(ifaceOk)) return false;
  }
  const t = v['traffic'];
  if (t !== null) {
    if (!Array.isArray(t) || t.length > MAX_BACKENDS) return false;
    if (!t.every((b) => isObj(b) && typeof b['pool'] === 'string' && typeof b['backend'] === 'string' && isNum(b['requests']) && isNum(b['errors']))) return false;
  }
  return true;
}

export class PeerReports implements NodeReportSource {
  readonly everyMs: number;
  readonly staleAfterMs: number;
  readonly unreachableAfterMs: number;
  private readonly received = new Map<string, { report: NodeReport; at: number }>();
  private readonly now: () => number;
  private timer: NodeJS.Timeout | null = null;
  private sending = false;
  /** The last own report made: open panels and the broadcast share it for a second (it asks every worker). */
  private own: { at: number; report: Promise<NodeReport> } | null = null;

  constructor(private readonly opts: PeerReportsOptions) {
    this.everyMs = opts.everyMs ?? 2000;
    // Two missed rounds are stale; five (a peer link reconnecting with backoff takes a few) unreachable.
    this.staleAfterMs = Math.round(this.everyMs * 2.5);
    this.unreachableAfterMs = this.everyMs * 5;
    this.now = opts.now ?? Date.now;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.broadcast(), this.everyMs);
    this.timer.unref();
    void this.broadcast();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** A report from `from` (the transport's authenticated id): kept only when it speaks for its sender. */
  receive(from: string, report: unknown): void {
    if (!isNodeReport(report) || report.node !== from) {
      this.opts.logger.warn({ from }, 'dropping a malformed node report');
      return;
    }
    this.received.set(from, { report, at: this.now() });
  }

  async view(): Promise<NodeReportEntry[]> {
    const self = await this.ownReport().catch(() => null);
    // After the wait: a report that arrived meanwhile must not read as received in the future.
    const now = this.now();
    const others = this.opts.members().filter((id) => id !== this.opts.self);
    return [
      { id: this.opts.self, status: 'self', ageMs: 0, report: self },
      ...others.map((id): NodeReportEntry => {
        const got = this.received.get(id);
        if (!got) return { id, status: 'unreachable', ageMs: null, report: null };
        const ageMs = Math.max(0, now - got.at);
        return { id, status: this.statusFor(ageMs), ageMs, report: got.report };
      }),
    ];
  }

  /** What `id` last said of its Raft state, while that report is fresh; null when it is older or missing. */
  freshRaft(id: string): NodeReport['raft'] | null {
    const got = this.received.get(id);
    if (!got) return null;
    const ageMs = this.now() - got.at;
    return ageMs >= 0 && this.statusFor(ageMs) === 'fresh' ? got.report.raft : null;
  }

  private ownReport(): Promise<NodeReport> {
    const now = this.now();
    if (!this.own || now - this.own.at >= OWN_REPORT_TTL_MS || now < this.own.at) {
      const report = this.opts.make();
      this.own = { at: now, report };
      report.catch(() => {
        if (this.own?.report === report) this.own = null;
      });
    }
    return this.own.report;
  }

  private statusFor(ageMs: number): NodeReportStatus {
    if (ageMs >= this.unreachableAfterMs) return 'unreachable';
    return ageMs >= this.staleAfterMs ? 'stale' : 'fresh';
  }

  /** One round at a time: a slow host reading skips rounds rather than piling them up. */
  private async broadcast(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      this.opts.send(await this.ownReport());
    } catch (err) {
      this.opts.logger.debug({ err }, 'node report not sent this round');
    } finally {
      this.sending = false;
    }
  }
}
