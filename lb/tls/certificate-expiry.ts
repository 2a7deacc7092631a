// ballast_certificate_expiry_seconds{certificate}: seconds until each served certificate's
// notAfter, computed at scrape time, plus a warning log once a day for those 30 days out or less.
import { Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';

export const EXPIRY_WARNING_MS = 30 * 86_400_000;
const RECHECK_MS = 86_400_000;

export class CertificateExpiry {
  /** owner (a listener's certificate set) -> label -> notAfter epoch ms. */
  private readonly owners = new Map<object, Map<string, number>>();
  private readonly warned = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    registry: Registry,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    const soonest = (): Map<string, number> => this.soonest();
    new Gauge({
      name: 'ballast_certificate_expiry_seconds',
      help: 'Seconds until the certificate (its chain\'s earliest notAfter) expires; negative once expired',
      labelNames: ['certificate'],
      registers: [registry],
      // Every worker serves the same certificates: the node's aggregate must not add them up.
      aggregator: 'min',
      collect() {
        this.reset();
        const at = now();
        for (const [label, notAfter] of soonest()) this.set({ certificate: label }, Math.round((notAfter - at) / 1000));
      },
    });
    this.timer = setInterval(() => this.warn(), RECHECK_MS);
    this.timer.unref();
  }

  /** Replace what `owner` serves; warns at once about any certificate close to expiry. */
  track(owner: object, certificates: ReadonlyMap<string, number>): void {
    this.owners.set(owner, new Map(certificates));
    this.warn();
  }

  release(owner: object): void {
    this.owners.delete(owner);
  }

  close(): void {
    clearInterval(this.timer);
  }

  private soonest(): Map<string, number> {
    const out = new Map<string, number>();
    for (const certs of this.owners.values()) {
      for (const [label, notAfter] of certs) out.set(label, Math.min(notAfter, out.get(label) ?? Infinity));
    }
    return out;
  }

  private warn(): void {
    const now = this.now();
    for (const [label, notAfter] of this.soonest()) {
      if (notAfter - now > EXPIRY_WARNING_MS) continue;
      const last = this.warned.get(label);
      if (last !== undefined && now - last < RECHECK_MS) continue;
      this.warned.set(label, now);
      const days = Math.floor((notAfter - now) / 86_400_000);
      const msg = notAfter <= now ? 'certificate has expired' : `certificate expires in ${days} days`;
      this.logger.warn({ certificate: label, notAfter: new Date(notAfter).toISOString() }, msg);
    }
  }
}
