// Worker process entry: connects to its node over net-ipc, runs a DataPlane from the states the
// node pushes, answers metrics and pool-view requests, drains on request. Forked by the
// WorkerSupervisor through node:cluster, so listeners share the node's listening sockets.
import { Client } from 'net-ipc';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { ORPHAN_VIP_ENV, armOrphanVipRelease } from '../cluster/vip/orphan-release.js';
import { DataPlane } from './data-plane.js';
import { IpcEdgeChannel } from './edge/ipc-edge-channel.js';
import type { EdgeNodeMessage, NodeToWorker, WorkerRequest, WorkerToNode, WorkerVipRequest } from './types.js';

const ipcPath = process.env['BALLAST_IPC_PATH'];
const workerId = process.env['BALLAST_WORKER_ID'] ?? String(process.pid);
if (!ipcPath) {
  process.stderr.write('ballast worker: BALLAST_IPC_PATH is not set; workers are started by `ballast start`\n');
  process.exit(2);
}

const logger = pino({ level: process.env['BALLAST_LOG_LEVEL'] ?? 'info' }).child({ worker: workerId });
// Written straight to stderr: it runs inside the process's exit, where nothing asynchronous flushes.
const orphanGuard = armOrphanVipRelease(process.env[ORPHAN_VIP_ENV], (msg) =>
  process.stderr.write(`${JSON.stringify({ level: 40, time: Date.now(), pid: process.pid, worker: workerId, msg })}\n`),
);
const registry = new Registry();
const client = new Client({ path: ipcPath, reconnect: false });
const plane = new DataPlane({ logger, registry, edgeChannel: new IpcEdgeChannel(client) });

// logrotate may signal the workers directly; the node also forwards its own SIGHUP.
process.on('SIGHUP', () => plane.reopenLogs());

// States apply strictly in arrival order; a newer one queued behind a slow apply supersedes it.
let applying: Promise<void> = Promise.resolve();
let draining = false;

function send(msg: WorkerToNode): void {
  client.send(msg).catch((err: unknown) => logger.warn({ err }, 'report to node failed'));
}

client.on('message', (msg: NodeToWorker | EdgeNodeMessage) => {
  switch (msg.type) {
    case 'edge.reopen-logs':
      plane.reopenLogs();
      return;
    case 'state':
      applying = applying.then(async () => {
        const report = await plane.apply(msg.state);
        send({ type: 'applied', ...report });
      });
      return;
    case 'drain':
      draining = true;
      void applying.then(async () => {
        await plane.drain(msg.timeoutMs);
        await client.close().catch(() => undefined);
        process.exit(0);
      });
      return;
    default: {
      const never: never = msg;
      logger.warn({ msg: never }, 'unknown message from node');
    }
  }
});

client.on('request', (req: WorkerRequest | WorkerVipRequest, respond: (data: unknown) => Promise<void>) => {
  const answer =
    req.type === 'metrics' ? registry.getMetricsAsJSON() : req.type === 'vip-keep-alive' ? Promise.resolve(plane.closeKeepAliveOn(req.ip)) : Promise.resolve(plane.poolViews());
  void answer.then((data) => respond(data)).catch((err: unknown) => logger.warn({ err }, 'answering node failed'));
});

client.on('close', () => {
  // Without its node a worker would serve a state nobody can change: stop, the node restarts us.
  logger.warn('lost the node connection; exiting');
  if (!draining) orphanGuard.nodeLost();
  process.exit(1);
});

client.connect({ worker: workerId }).catch((err: unknown) => {
  logger.fatal({ err }, 'cannot reach the node');
  process.exit(1);
});
