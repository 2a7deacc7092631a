// The machine a benchmark ran on, printed with the figures so they can be compared honestly.
import { execFileSync } from 'node:child_process';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';
import { haproxyVersion } from './haproxy.js';

export interface Machine {
  date: string;
  cores: number;
  cpuModel: string;
  memGiB: number;
  kernel: string;
  node: string;
  haproxy: string;
  wrk: string;
  /** 1-minute load average when the run started: the machine may be shared. */
  load1: number;
  /** 1, 5 and 15-minute load averages (as `uptime` prints them) when the run started. */
  loads: number[];
  /** Checkout under test: short commit, and whether the code Ballast runs has local changes. */
  commit: string;
}

function checkout(): string {
  const root = new URL('../../', import.meta.url);
  try {
    const git = (args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = git(['status', '--porcelain', '--untracked-files=no', '--', 'lb', 'cli', 'cluster', 'config', 'web']) !== '';
    return `${git(['rev-parse', '--short', 'HEAD'])}${dirty ? ' + local changes in lb/cli/cluster/config/web' : ''}`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

function wrkVersion(): string {
  try {
    // `wrk -v` prints its banner and exits non-zero.
    return execFileSync('wrk', ['-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0]?.trim() ?? '';
  } catch (err) {
    const out = (err as { stdout?: string }).stdout ?? '';
    return out.split('\n')[0]?.trim() || 'not installed';
  }
}

export function describeMachine(): Machine {
  return {
    date: new Date().toISOString(),
    cores: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    haproxy: haproxyVersion(),
    wrk: wrkVersion(),
    load1: loadavg()[0] ?? 0,
    loads: loadavg(),
    commit: checkout(),
  };
}

export function formatMachine(m: Machine): string {
  return [
    `date     ${m.date}`,
    `machine  ${m.cores} cores, ${m.cpuModel}, ${m.memGiB} GiB, Linux ${m.kernel}, load avg 1/5/15 min ${m.loads.map((l) => l.toFixed(2)).join(' / ')} at start`,
    `software node ${m.node}; ${m.haproxy}; ${m.wrk}`,
    `ballast  ${m.commit}`,
  ].join('\n');
}
