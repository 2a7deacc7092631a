// The VIP stop record: what this node may raise, written where systemd's ExecStopPost (a shell script,
// bin/ballast-release-vip) finds it once the daemon is gone. After a kill -9 or the OOM killer, the
// workers that would have dropped the VIP died with the daemon (systemd kills the whole cgroup), and a
// second Node start just to read the config took 37 s on an emulated VM: the script only reads this file.
import { rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SYN_GATE_PREF } from './syn-gate.js';

export const STOP_RECORD_FILE = 'vip';

/** systemd's RuntimeDirectory= (the first one, should several be set), or null when not run by systemd. */
export function runtimeDirectory(env: NodeJS.ProcessEnv = process.env): string | null {
  const dirs = env['RUNTIME_DIRECTORY'];
  return dirs ? (dirs.split(':')[0] ?? null) : null;
}

export function stopRecordText(vip: { address: string; interface: string }): string {
  return [
    '# Written by the ballast daemon at start: what bin/ballast-release-vip takes off this host when the daemon is gone.',
    `VIP_CIDR=${vip.address}`,
    `VIP_INTERFACE=${vip.interface}`,
    `SYN_GATE_PREF=${SYN_GATE_PREF}`,
    '',
  ].join('\n');
}

/** Writes (or, with no Linux VIP to release, removes) the record. A no-op outside systemd. */
export async function writeStopRecord(dir: string | null, vip: { address: string; interface: string; driver: string } | null): Promise<string | null> {
  if (dir === null) return null;
  const path = join(dir, STOP_RECORD_FILE);
  if (vip === null || vip.driver !== 'linux') {
    await rm(path, { force: true });
    return null;
  }
  // Whole or not at all: the script must never read half a line.
  await writeFile(`${path}.tmp`, stopRecordText(vip), { mode: 0o644 });
  await rename(`${path}.tmp`, path);
  return path;
}
