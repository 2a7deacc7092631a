// Starts the origin child process (origin-server.ts) and waits for the ports it listens on.
import type { ChildProcesses, Tracked } from './children.js';
import { tsEntry } from './children.js';
import type { OriginsReady } from './types.js';

export async function startOrigins(children: ChildProcesses, count: number): Promise<{ tracked: Tracked; ready: OriginsReady }> {
  const { exec, args } = tsEntry('./origin-server.ts');
  const tracked = children.spawn('origins', exec, args, {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, BENCH_ORIGINS: String(count) },
  });
  const ready = await new Promise<OriginsReady>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('origins did not start within 15s')), 15_000);
    tracked.child.once('message', (msg: OriginsReady) => {
      clearTimeout(timer);
      resolve(msg);
    });
    void tracked.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`origins exited (${String(code)}) before listening`));
    });
  });
  return { tracked, ready };
}
