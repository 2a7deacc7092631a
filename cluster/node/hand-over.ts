// The drain before a planned VIP move (transfer-leadership, SIGTERM): new connections on the VIP are
// held off (their SYNs dropped, so clients resend them to the next holder) and the move waits, bounded,
// until nothing is in flight on the old holder, because a connection it still serves when the address
// goes can neither be answered from here nor continued by the new holder.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { VipDriver } from '../vip/types.js';

export interface HandOverOptions {
  driver: Pick<VipDriver, 'quiesce' | 'unquiesce' | 'pendingConnections' | 'pendingSockets'>;
  /** Work in flight in each worker (WorkerSupervisor.inFlightByWorker); null for one that could not tell. */
  inFlight: () => Promise<Record<string, number | null>>;
  logger: Logger;
  /** Longest wait for the work in flight; the move goes ahead anyway after it. */
  drainMs: number;
  /** Runs once new connections are held off, before the wait (the workers start closing keep-alive connections). */
  onGated?: () => Promise<unknown>;
  /** Pause between two looks. Default 20. */
  pollMs?: number;
}

export interface HandOverReport {
  /** New connections are being held off (false: the driver cannot, or this node does not hold the VIP). */
  gated: boolean;
  /** Nothing was left in flight when the wait ended. */
  idle: boolean;
  waitedMs: number;
}

/** Sum of the workers' counts; null when one could not tell (then nobody can say they are idle). */
function total(byWorker: Record<string, number | null>): number | null {
  let sum = 0;
  for (const n of Object.values(byWorker)) {
    if (n === null) return null;
    sum += n;
  }
  return sum;
}

/**
 * Gate the VIP, then wait until the kernel holds no connection a worker has not accepted, the
 * workers have nothing in flight and the kernel owes clients no byte, in that order (a connection
 * leaves the kernel's queue into a worker's count, and a worker's last write into the kernel).
 */
export async function drainForHandOver(opts: HandOverOptions): Promise<HandOverReport> {
  const started = Date.now();
  const gated = await opts.driver.quiesce().catch((err: unknown) => {
    opts.logger.warn({ err }, 'could not hold off new connections; moving the VIP without draining');
    return false;
  });
  if (!gated) return { gated: false, idle: false, waitedMs: Date.now() - started };
  await opts.onGated?.().catch((err: unknown) => opts.logger.warn({ err }, 'hand-over: a step after the gate failed'));
  const deadline = started + opts.drainMs;
  const pollMs = opts.pollMs ?? 20;
  // Which counter held each look up: the warning at the bound says what never went to zero.
  const heldBy = { kernel: 0, workers: 0, workersUnknown: 0 };
  let lastWorkers: Record<string, number | null> = {};
  let polls = 0;
  for (; polls < 10_000; polls++) {
    const kernel = await opts.driver.pendingConnections();
    if (kernel === 0) {
      lastWorkers = await opts.inFlight();
      const workers = total(lastWorkers);
      if (workers === 0 && (await opts.driver.pendingConnections()) === 0) {
        const waitedMs = Date.now() - started;
        opts.logger.info({ waitedMs, polls: polls + 1, heldBy }, 'nothing in flight on the VIP; moving it');
        return { gated, idle: true, waitedMs };
      }
      if (workers === null) heldBy.workersUnknown++;
      else if (workers > 0) heldBy.workers++;
      else heldBy.kernel++;
    } else {
      heldBy.kernel++;
    }
    if (Date.now() >= deadline) break;
    await sleep(Math.min(pollMs, Math.max(0, deadline - Date.now())));
  }
  const [sockets, workers] = await Promise.all([opts.driver.pendingSockets(), opts.inFlight()]);
  const waitedMs = Date.now() - started;
  opts.logger.warn(
    { waitedMs, polls, heldBy, sockets, workers, workersAtLastLook: lastWorkers },
    'work still in flight on the VIP after the drain bound; moving it anyway',
  );
  return { gated, idle: false, waitedMs };
}
