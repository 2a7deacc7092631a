// Reads the node config for a `ballast` command: an invalid file is reported once, the same way for
// every command, and the caller exits 2 (systemd's RestartPreventExitStatus: restarting cannot fix it).
import { ConfigError } from '../config/errors.js';
import { loadConfigFile } from '../config/load.js';
import type { NodeConfig } from '../config/types.js';

export function loadConfigForCommand(command: string, path: string): NodeConfig | null {
  try {
    return loadConfigFile(path);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`ballast${command === 'start' ? '' : ` ${command}`}: invalid config ${path}: ${err.message}\n`);
      return null;
    }
    throw err;
  }
}
