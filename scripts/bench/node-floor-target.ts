// Starts the node-floor child process (node-floor.ts) on the layout's ports and waits for it.
import type { ChildProcesses, Tracked } from './children.js';
import { tsEntry } from './children.js';
import type { LbLayout } from './haproxy.js';
import { waitListening } from './local-port.js';

export async function startNodeFloor(children: ChildProcesses, l: LbLayout): Promise<Tracked> {
  const { exec, args } = tsEntry('./node-floor.ts');
  const config = {
    httpPort: l.httpPort,
    tcpPort: l.tcpPort,
    origins: l.origins.map((o) => o.port),
    sinks: l.sinks.map((s) => s.port),
    workers: l.workers,
  };
  const t = children.spawn('node-floor', exec, args, {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, BENCH_FLOOR: JSON.stringify(config) },
  });
  let exit: string | null = null;
  void t.exited.then((c) => (exit = `node-floor exited (${String(c)})`));
  await waitListening(l.host, l.httpPort, 15_000, () => exit);
  await waitListening(l.host, l.tcpPort, 15_000, () => exit);
  return t;
}
