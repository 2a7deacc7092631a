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

export async function startNodeProcess(config: Record<string, unknown>, timeoutMs = 30_000): Promise<NodeProcess> {
  const configPath = writeConfig(config);
  const node = config['node'] as { adminListen: string; dataDir: string };
  const admin = `http://${node.adminListen}`;
  let out = '';
  const proc = spawn(process.execPath, ['--import', TSX, CLI, 'start', '--config', configPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, BALLAST_LOG_LEVEL: process.env['BALLAST_LOG_LEVEL'] ?? 'warn' },
  });
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));

  const deadline = Date.now() + timeoutMs;
  let ports: Record<string, number>;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`ballast exited with ${proc.exitCode} before ready:\n${out}`);
    try {
      const res = await fetch(`${admin}/readyz`);
      const body = (await res.json()) as { ready: boolean; listeners: Record<string, number> };
      if (res.status === 200 && body.ready) {
        ports = body.listeners;
        break;
      }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`ballast not ready within ${timeoutMs}ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    proc,
    admin,
    dataDir: node.dataDir,
    configPath,
    ports,
    output: () => out,
    stop: async (signal = 'SIGTERM') => {
      if (proc.exitCode === null) proc.kill(signal);
      return exited;
    },
  };
}
