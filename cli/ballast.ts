// The `ballast` command: start one node, run the demo appliance, check a config, or drive a cluster.
import { parseArgs } from 'node:util';
import { runCheckConfig } from './check-config.js';
import { runCtl } from './ctl.js';
import { runDemo } from './demo.js';
import { runReleaseVip } from './release-vip.js';
import { runStart } from './start.js';

const USAGE = `usage:
  ballast start --config FILE     run one node in the foreground (what systemd runs)
  ballast demo                    run a demo appliance on loopback with demo backends
  ballast ctl <command>           drive a running cluster through its API (ballast ctl --help)
  ballast check --config FILE     validate a config without starting anything (exit 0, or 2 naming the field)
  ballast release-vip --config FILE
                                  drop the VIP from this host after the node stopped (by hand; systemd runs
                                  bin/ballast-release-vip, which needs no Node start)
  ballast help                    this text
`;

/** The --config FILE every node command takes; null (after saying so) when it is missing. */
function configArg(command: string, args: string[]): string | null {
  const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' } } });
  if (values.config) return values.config;
  process.stderr.write(`ballast ${command}: --config FILE is required\n\n${USAGE}`);
  return null;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start': {
      const config = configArg('start', rest);
      return config === null ? 2 : runStart(config);
    }
    case 'check': {
      const config = configArg('check', rest);
      return config === null ? 2 : runCheckConfig(config);
    }
    case 'release-vip': {
      const config = configArg('release-vip', rest);
      return config === null ? 2 : runReleaseVip(config);
    }
    case 'demo':
      return runDemo(rest);
    case 'ctl':
      return runCtl(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`ballast: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`ballast: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
