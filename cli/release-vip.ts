// `ballast release-vip --config FILE`: drop this host's claim on the VIP after the daemon is gone.
// systemd runs it as ExecStopPost, so a daemon killed with -9 (or by the OOM killer) does not leave
// the address on the interface, answering ARP beside the new leader, until its restart gets that far.
import { pino } from 'pino';
import { createVipDriver } from '../cluster/vip/driver.js';
import { isVipError } from '../cluster/vip/errors.js';
import { loadConfigForCommand } from './config-file.js';

export async function runReleaseVip(configPath: string): Promise<number> {
  const config = loadConfigForCommand('release-vip', configPath);
  if (config === null) return 2;
  const vip = config.cluster.vip;
  if (!vip) {
    process.stdout.write('ballast release-vip: no cluster.vip in the config; nothing to release\n');
    return 0;
  }
  const logger = pino({ level: process.env['BALLAST_LOG_LEVEL'] ?? 'warn' }).child({ node: config.node.id, component: 'vip' });
  const driver = createVipDriver(vip, { logger });
  try {
    const wasHeld = await driver.held();
    await driver.release();
    // A SYN gate from a move the daemon never finished would black-hole this host's next term.
    await driver.unquiesce();
    process.stdout.write(`ballast release-vip: ${vip.address} on ${vip.interface} ${wasHeld ? 'released' : 'was not held'}\n`);
    return 0;
  } catch (err) {
    if (isVipError(err, 'VIP_ERR_NO_INTERFACE')) {
      process.stderr.write(`ballast release-vip: ${err.message}; nothing to release (check cluster.vip.interface)\n`);
      return 0;
    }
    throw err;
  }
}
