// LocalStateStore: the StateStore of a node that runs without Raft peers. Every applied command
// is persisted (temp file + fsync + rename + fsync dir) before the proposer hears back, so nothing
// changed at runtime is lost on restart.
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { DataPlaneState } from '../../lb/types.js';
import { StateMachine } from '../state/machine.js';
import type { AccessReader, ApplyResult, StateCommand } from '../state/types.js';
import type { StateStore } from './types.js';

async function writeAtomically(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

export class LocalStateStore implements StateStore {
  private readonly listeners: ((state: DataPlaneState) => void)[] = [];
  /** Serializes writes so the file always holds a prefix of the applied commands. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly machine: StateMachine,
    private readonly path: string,
  ) {}

  static async open(dataDir: string): Promise<LocalStateStore> {
    await mkdir(dataDir, { recursive: true });
    const path = join(dataDir, 'state.json');
    const machine = new StateMachine();
    try {
      machine.restore(await readFile(path));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new Error(`cannot load ${path}: ${(err as Error).message}; move it aside to start from the config's bootstrap`, { cause: err });
      }
    }
    return new LocalStateStore(machine, path);
  }

  propose(cmd: StateCommand): Promise<ApplyResult> {
    const run = this.queue.then(async () => {
      const before = this.machine.snapshot();
      const result = this.machine.apply(cmd);
      if (result.ok) {
        try {
          await writeAtomically(this.path, this.machine.snapshot());
        } catch (err) {
          // Not durable, so not applied: memory must never run ahead of what a restart would load.
          this.machine.restore(before);
          throw err;
        }
        const state = this.machine.dataPlane();
        for (const l of this.listeners) l(state);
      }
      return result;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  read(): DataPlaneState {
    return this.machine.dataPlane();
  }

  /** Users, API tokens and the audit log as applied here (for the web edge; never sent to workers). */
  readAccess(): AccessReader {
    return this.machine.accessView();
  }

  onChange(listener: (state: DataPlaneState) => void): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    await this.queue;
  }
}
