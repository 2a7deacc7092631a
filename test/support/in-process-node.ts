// A BallastNode whose control plane runs in the test process (so a test can commit changes
// directly) while its data plane runs in real worker processes on real sockets.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { BallastNode } from '../../cluster/node/daemon.js';
import type { StateCommand } from '../../cluster/state/types.js';
import { buildConfig } from '../../config/load.js';
import { freePort } from './free-port.js';

export interface TestNode {
  node: BallastNode;
  dataDir: string;
  port(listener: string): number;
  /** http://host:port of the admin API. */
  adminUrl: string;
  /** Commit a change and wait until every worker runs it. */
  change(cmd: StateCommand): Promise<void>;
  stop(): Promise<void>;
}

export async function startTestNode(
  bootstrap: { listeners: unknown[]; pools: unknown[] },
  opts: { workers?: number; dataDir?: string; admin?: { user: string; password: string } } = {},
): Promise<TestNode> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'ballast-node-'));
  // node:cluster shares one listening handle per (address, port) among all workers of a process,
  // so two test nodes in one process must not both ask for port 0: give each listener its own.
  const listeners = await Promise.all(
    (bootstrap.listeners as { bind: string }[]).map(async (l) =>
      l.bind.endsWith(':0') ? { ...l, bind: `${l.bind.slice(0, -2)}:${await freePort()}` } : l,
    ),
  );
  bootstrap = { ...bootstrap, listeners };
  const adminListen = `127.0.0.1:${await freePort()}`;
  const raw = {
    node: { id: 'n1', dataDir, adminListen, workers: opts.workers ?? 1 },
    bootstrap,
    ...(opts.admin === undefined ? {} : { admin: opts.admin }),
  };
  const config = buildConfig(raw, join(dataDir, 'inline.yaml'));
  const node = new BallastNode({ config, logger: pino({ level: process.env['BALLAST_LOG_LEVEL'] ?? 'warn' }), drainMs: 2000 });
  await node.start();
  return {
    node,
    dataDir,
    adminUrl: `http://${adminListen}`,
    port: (listener) => {
      const p = node.listenerPorts()[listener];
      if (p === undefined) {
        // Say why: a bind that lost its port to another process between freePort() and listen() reads differently from a slow start.
        const why = (node.supervisor?.status() ?? []).map((w) => `${w.id}: ${w.errors[listener] ?? `applied version ${w.appliedVersion}`}`);
        throw new Error(`listener ${listener} is not listening (${why.join('; ') || 'no workers'})`);
      }
      return p;
    },
    change: async (cmd) => {
      const store = node.store;
      if (!store) throw new Error('node not started');
      const r = await store.propose(cmd);
      if (!r.ok) throw new Error(`change refused: ${r.error.message}`);
      await node.supervisor?.waitApplied(r.version, 10_000);
    },
    stop: () => node.stop(),
  };
}
