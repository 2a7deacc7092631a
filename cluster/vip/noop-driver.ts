// The noop VIP driver for loopback demos and tests: remembers whether it holds the VIP, touches nothing.
import type { Logger } from 'pino';
import type { NoopVipOptions, PendingSocket, VipDriver } from './types.js';
import { parseVipAddress } from './vip-address.js';

export class NoopVipDriver implements VipDriver {
  readonly address: string;
  readonly interface: string;
  private readonly logger: Logger;
  private holding = false;

  constructor(options: NoopVipOptions) {
    this.address = parseVipAddress(options.address).cidr;
    this.interface = options.interface;
    this.logger = options.logger.child({ vip: this.address, iface: this.interface, driver: 'noop' });
  }

  async check(): Promise<void> {}

  async acquire(): Promise<void> {
    if (this.holding) return;
    this.holding = true;
    this.logger.info('VIP acquired (noop driver: no address was added)');
  }

  async release(): Promise<void> {
    if (!this.holding) return;
    this.holding = false;
    this.logger.info('VIP released (noop driver)');
  }

  async held(): Promise<boolean> {
    return this.holding;
  }

  /** Nothing to hold off on loopback: planned moves go ahead at once. */
  async quiesce(): Promise<boolean> {
    return false;
  }

  async unquiesce(): Promise<void> {}

  async pendingConnections(): Promise<number> {
    return 0;
  }

  async pendingSockets(): Promise<PendingSocket[]> {
    return [];
  }
}
