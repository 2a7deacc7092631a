// VipHolder: keeps the VIP in step with the Raft lease. Raised only while this node leads with a
// valid lease, dropped the moment the lease lapses. A failed raise goes to the owner: a Raft member
// gives up leadership (fail-stop) rather than lead without the address; a one-node cluster retries.
import type { Logger } from 'pino';
import type { LeaseState, SoftState } from '../raft/types.js';
import type { VipDriver } from '../vip/types.js';

export class VipHolder {
  private held = false;
  /** performance.now() when the VIP was last raised. */
  private heldSince = 0;
  /** Driver calls run one at a time, in order; `want` is re-read after each one. */
  private busy: Promise<void> = Promise.resolve();
  private want = false;
  private closed = false;

  constructor(
    /** Also used directly for a planned move's drain (hand-over.ts); acquire/release only through sync/close. */
    readonly driver: VipDriver,
    private readonly logger: Logger,
    private readonly onRaiseFailed: (err: unknown) => void,
  ) {}

  isHeld(): boolean {
    return this.held;
  }

  /** ms since the VIP was last raised; null while not held. */
  heldForMs(): number | null {
    return this.held ? Math.round(performance.now() - this.heldSince) : null;
  }

  /** Called every tick and inside each Ready; resolves once a needed release is done. */
  sync(lease: LeaseState, soft: SoftState): Promise<void> {
    this.want = !this.closed && soft.role === 'leader' && lease.valid;
    if (this.want === this.held) return this.busy;
    this.busy = this.busy.then(() => this.converge());
    return this.busy;
  }

  private async converge(): Promise<void> {
    if (this.want && !this.held) {
      try {
        await this.driver.acquire();
        this.held = true;
        this.heldSince = performance.now();
        this.logger.info({ vip: this.driver.address }, 'VIP raised: this node is the active node');
      } catch (err) {
        this.logger.error({ err, vip: this.driver.address }, 'could not raise the VIP');
        this.onRaiseFailed(err);
      }
      // The lease may have lapsed while we were raising.
      if (!this.want && this.held) await this.release();
    } else if (!this.want && this.held) {
      await this.release();
    }
  }

  private async release(): Promise<void> {
    try {
      await this.driver.release();
      this.held = false;
      this.logger.info({ vip: this.driver.address }, 'VIP released');
    } catch (err) {
      // Still held as far as we know: the next sync tries again.
      this.logger.error({ err, vip: this.driver.address }, 'could not release the VIP; retrying');
    }
  }

  /** Release for good (SIGTERM, exit). */
  async close(): Promise<void> {
    this.closed = true;
    this.want = false;
    this.busy = this.busy.then(() => (this.held ? this.release() : undefined));
    await this.busy;
  }
}
