// `ballast start --config FILE`: load and validate the config, run the node until SIGTERM/SIGINT.
import { pino } from 'pino';
import { BallastNode } from '../cluster/node/daemon.js';
import { loadConfigForCommand } from './config-file.js';

export async function runStart(configPath: string): Promise<number> {
  const config = loadConfigForCommand('start', configPath);
  if (config === null) return 2;
  const logger = pino({ level: process.env['BALLAST_LOG_LEVEL'] ?? 'info' }).child({ node: config.node.id });
  const node = new BallastNode({ config, logger });

  let stopping: Promise<void> | null = null;
  const stop = (signal: string) => {
    logger.info({ signal }, 'stopping: draining connections');
    stopping ??= node.stop();
    return stopping;
  };
  // logrotate's postrotate: SIGHUP reopens access log files (and must not kill the daemon).
  process.on('SIGHUP', () => {
    logger.info('SIGHUP: reopening access logs');
    node.reopenLogs();
  });
  const finished = new Promise<number>((resolve) => {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      process.once(sig, () => {
        void stop(sig).then(() => resolve(0));
      });
    }
  });
  try {
    await node.start();
  } catch (err) {
    logger.fatal({ err }, 'node failed to start');
    await node.stop().catch(() => undefined);
    return 1;
  }
  return finished;
}
