// Runs a real `ballast start --config FILE` process for integration tests and waits until its
// /readyz says it serves; stop() sends a signal and waits for the exit code.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

export const CLI = fileURLToPath(new URL('../../cli/ballast.ts', import.meta.url));
export const TSX = import.meta.resolve('tsx');

export interface NodeProcess {
  proc: ChildProcess;
  admin: string;
  dataDir: string;
  configPath: string;
  ports: Record<string, number>;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function writeConfig(config: Record<string, unknown>, dir = mkdtempSync(join(tmpdir(), 'ballast-it-'))): string {
  const path = join(dir, 'node.yaml');
  writeFileSync(path, stringify(config));
  return path;
}

/** Spawn the CLI with arguments; resolves with exit code and output (for config-error tests). */
export function runCli(args: string[], timeoutMs = 30_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', TSX, CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`ballast ${args.join(' ')} did not exit within ${timeoutMs}ms`));
    }, timeoutMs);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Spawn `ballast start` without waiting (cluster members only get ready together). */
export function spawnNodeProcess(config: Record<string, unknown>, configPath = writeConfig(config)): NodeProcess & { exited: Promise<number | null> } {
  const node = config['node'] as { adminListen: string; dataDir: string };
  let out = '';
  const proc = spawn(process.execPath, ['--import', TSX, CLI, 'start', '--config', configPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, BALLAST_LOG_LEVEL: process.env['BALLAST_LOG_LEVEL'] ?? 'warn' },
  });
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return {
    proc,
    admin: `http://${node.adminListen}`,
    dataDir: node.dataDir,
    configPath,
    ports: {},
    exited,
    output: () => out,
    stop: async (signal = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

export interface Readiness {
  ready: boolean;
  reason: string;
  listeners: Record<string, number>;
  node?: { id: string; role: string; leader: string | null; vipHeld: boolean };
}

export async function readiness(admin: string): Promise<Readiness | null> {
  try {
    const res = await fetch(`${admin}/readyz`, { signal: AbortSignal.timeout(1000) });
    return (await res.json()) as Readiness;
  } catch {
    return null;
  }
}

/** Wait until /readyz says ready; fills `ports`. Throws with the node's output on timeout or exit. */
export async function waitReady(n: NodeProcess, timeoutMs = 30_000): Promise<Readiness> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (n.proc.exitCode !== null) throw new Error(`ballast exited with ${n.proc.exitCode} before ready:\n${n.output()}`);
    const r = await readiness(n.admin);
    if (r?.ready) {
      n.ports = r.listeners;
      return r;
    }
    if (Date.now() > deadline) throw new Error(`ballast not ready within ${timeoutMs}ms (${r?.reason ?? 'no answer'}):\n${n.output()}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

export async function startNodeProcess(config: Record<string, unknown>, timeoutMs = 30_000): Promise<NodeProcess> {
  const n = spawnNodeProcess(config);
  try {
    await waitReady(n, timeoutMs);
  } catch (err) {
    n.proc.kill('SIGKILL');
    throw err;
  }
  return n;
}
