// Picks the VIP driver a node's config names (cluster.vip.driver: linux | noop).
import type { Logger } from 'pino';
import type { VipConfig } from '../../config/types.js';
import { LinuxVipDriver } from './linux-driver.js';
import { NoopVipDriver } from './noop-driver.js';
import type { CommandRunner, GarpOptions, InterfaceLister, VipDriver } from './types.js';

export interface VipDriverDeps {
  logger: Logger;
  /** linux only: where the commands run (default: this host). */
  runner?: CommandRunner;
  /** linux only: how check() lists interfaces (default: see LinuxVipOptions.interfaces). */
  interfaces?: InterfaceLister;
  garp?: Partial<GarpOptions>;
}

export function createVipDriver(config: VipConfig, deps: VipDriverDeps): VipDriver {
  switch (config.driver) {
    case 'linux':
      return new LinuxVipDriver({
        address: config.address,
        interface: config.interface,
        logger: deps.logger,
        ...(deps.runner ? { runner: deps.runner } : {}),
        ...(deps.interfaces ? { interfaces: deps.interfaces } : {}),
        ...(deps.garp ? { garp: deps.garp } : {}),
      });
    case 'noop':
      return new NoopVipDriver({ address: config.address, interface: config.interface, logger: deps.logger });
    default: {
      const unreachable: never = config.driver;
      throw new Error(`unknown VIP driver ${String(unreachable)}`);
    }
  }
}
