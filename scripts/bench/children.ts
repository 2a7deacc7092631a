// ChildProcesses: every process the benchmark starts, each in its own process group, so that
// stopping one also stops what it forked (Ballast's workers) and nothing outlives the run.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface Tracked {
  name: string;
  child: ChildProcess;
  /** Resolves with the exit code (or the signal name) once the process is gone. */
  exited: Promise<number | string>;
}

/** `node --import tsx <file>` for a TypeScript entry next to this module. */
export function tsEntry(file: string): { exec: string; args: string[] } {
  const script = fileURLToPath(new URL(file, import.meta.url));
  return { exec: process.execPath, args: ['--import', import.meta.resolve('tsx'), script] };
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    // Negative pid: the whole group this child leads (spawned detached).
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

export class ChildProcesses {
  private readonly live = new Set<Tracked>();

  spawn(name: string, exec: string, args: string[], options: SpawnOptions = {}): Tracked {
    const child = spawn(exec, args, { ...options, detached: true });
    const exited = new Promise<number | string>((resolve) => {
      child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
      child.once('error', (err) => resolve(`spawn failed: ${err.message}`));
    });
    const tracked: Tracked = { name, child, exited };
    this.live.add(tracked);
    void exited.then(() => this.live.delete(tracked));
    return tracked;
  }

  /**
   * SIGTERM the process itself (it stops what it forked, as Ballast drains its workers), wait up
   * to graceMs, then SIGKILL its whole group to leave no straggler.
   */
  async stop(t: Tracked, graceMs: number): Promise<void> {
    const pid = t.child.pid;
    if (pid === undefined || !this.live.has(t)) return;
    t.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), graceMs);
    });
    const how = await Promise.race([t.exited, timedOut]);
    clearTimeout(timer);
    // The leader may be gone while its workers drain on; the group kill reaches them too.
    signalGroup(pid, 'SIGKILL');
    if (how === 'timeout') await t.exited;
    this.live.delete(t);
  }

  async stopAll(graceMs: number): Promise<void> {
    await Promise.all([...this.live].map((t) => this.stop(t, graceMs)));
  }

  /** Last resort from a synchronous `exit` handler: no waiting possible. */
  killAllNow(): void {
    for (const t of this.live) if (t.child.pid !== undefined) signalGroup(t.child.pid, 'SIGKILL');
    this.live.clear();
  }
}
