// One Raft cluster member for `npm run bench:raft`, run as its own process so the leader can be
// SIGKILLed: the real RaftStateStore (raft core, disk WAL with fsync, net-ipc TLS-PSK transport),
// driven by its parent over the Node IPC channel (raft-bench-types.ts says what travels).
import { pino } from 'pino';
import { RaftStateStore, type PeerMessage } from '../../cluster/node/raft-store.js';
import { NetIpcTransport } from '../../cluster/transport/ipc-transport.js';
import type { StateCommand } from '../../cluster/state/types.js';
import type { LoadReport, MemberConfig, ToMember, FromMember } from './raft-bench-types.js';

/** Wall-clock milliseconds with sub-ms resolution, comparable between processes on one machine. */
function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

function send(msg: FromMember): void {
  process.send?.(msg);
}

const config = JSON.parse(process.env['BENCH_RAFT_MEMBER'] ?? '{}') as MemberConfig;
// Warnings and above only: role changes reach the parent as messages, not log lines.
const logger = pino({ level: process.env['BENCH_RAFT_LOG'] ?? 'warn' }, pino.destination(2));

/** A small write (a weight change): one entry of about 100 bytes of JSON. */
function smallCommand(i: number): StateCommand {
  return { v: 1, op: 'backend.patch', pool: 'bench', backend: 'b1', changes: { weight: 1 + (i % 256) } };
}

const BOOTSTRAP: StateCommand = {
  v: 1,
  op: 'bootstrap',
  listeners: [],
  pools: [
    {
      name: 'bench',
      scheduler: 'round-robin',
      slowStartMs: 0,
      backends: [{ name: 'b1', host: '127.0.0.1', port: 9, weight: 1, state: 'active', backup: false, maxConns: 0 }],
    },
  ],
};

let seq = 0;

/** `concurrency` proposers, each proposing back to back until `seconds` or `maxOps` run out. */
async function load(store: RaftStateStore, concurrency: number, seconds: number, maxOps: number): Promise<LoadReport> {
  const latencies: number[] = [];
  const errors = new Map<string, number>();
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  let started = 0;
  const proposer = async (): Promise<void> => {
    while (performance.now() < deadline && started < maxOps) {
      started++;
      const at = performance.now();
      try {
        const r = await store.propose(smallCommand(seq++));
        if (!r.ok) throw new Error(r.error.code);
        latencies.push(performance.now() - at);
      } catch (err) {
        const code = (err as { code?: string }).code ?? (err as Error).message;
        errors.set(code, (errors.get(code) ?? 0) + 1);
        // An error is usually "no leader": do not spin on it.
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, proposer));
  return { commits: latencies.length, wallMs: performance.now() - t0, latenciesMs: latencies, errors: Object.fromEntries(errors) };
}

/** Proposes until one write commits (retrying "no leader"), for the kill -> first commit figure. */
async function firstCommit(store: RaftStateStore, timeoutMs: number): Promise<number | null> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    try {
      const r = await store.propose(smallCommand(seq++));
      if (r.ok) return wallNow();
    } catch {
      // No leader yet, or the write was cut by the election: try again.
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return null;
}

async function main(): Promise<void> {
  const transport = new NetIpcTransport<PeerMessage>({
    id: config.id,
    listen: { host: '127.0.0.1', port: config.port },
    peers: config.peers.map((p) => ({ id: p.id, host: '127.0.0.1', port: p.port })),
    secret: config.secret,
    logger,
  });
  const store = new RaftStateStore({
    id: config.id,
    voters: config.peers.map((p) => p.id),
    dataDir: config.dataDir,
    transport,
    logger,
    heartbeatMs: config.heartbeatMs,
    electionTimeoutMs: config.electionTimeoutMs,
    snapshotEvery: config.snapshotEvery,
    onRole: (soft) => send({ type: 'role', id: config.id, role: soft.role, leader: soft.leader, term: soft.term, at: wallNow() }),
  });
  await store.start();
  send({ type: 'started', id: config.id, at: wallNow() });

  process.on('message', (msg: ToMember) => {
    void (async () => {
      try {
        switch (msg.type) {
          case 'bootstrap': {
            const r = await store.propose(BOOTSTRAP);
            send({ type: 'done', req: msg.req, ok: r.ok, error: r.ok ? null : r.error.message });
            return;
          }
          case 'load':
            send({ type: 'load', req: msg.req, report: await load(store, msg.concurrency, msg.seconds, msg.maxOps) });
            return;
          case 'first-commit':
            send({ type: 'first-commit', req: msg.req, at: await firstCommit(store, msg.timeoutMs) });
            return;
          case 'status': {
            const s = store.status();
            send({ type: 'status', req: msg.req, role: s.role, leader: s.leader, term: s.term, applied: s.applied });
            return;
          }
          case 'stop':
            await store.close();
            send({ type: 'done', req: msg.req, ok: true, error: null });
            process.exit(0);
            return;
          default: {
            const never: never = msg;
            throw new Error(`unknown message ${JSON.stringify(never)}`);
          }
        }
      } catch (err) {
        send({ type: 'done', req: msg.req, ok: false, error: err instanceof Error ? err.message : String(err) });
      }
    })();
  });
  // The parent is gone: nothing may outlive the benchmark.
  process.on('disconnect', () => process.exit(0));
}

main().catch((err: unknown) => {
  process.stderr.write(`raft-member ${config.id}: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
