// Says so when this process's event loop stops for long: Raft's heartbeats, lease and peer handshakes
// all run on it, and a stall near the election timeout gets a healthy leader deposed. What taught us:
// a library's execSync stopped the loop for 15 s inside emulated VMs and leadership moved every
// minute, with nothing in the log pointing at the cause. (nodejs_eventloop_lag_* in /metrics has the figures.)
import type { Logger } from 'pino';

const PERIOD_MS = 250;

export interface StallWatch {
  stop(): void;
}

/** Logs a warning for every stall longer than `warnAfterMs`, naming how long and the Raft timer it competes with. */
export function watchStalls(logger: Logger, warnAfterMs: number, electionTimeoutMs: number, now: () => number = () => performance.now()): StallWatch {
  let last = now();
  const timer = setInterval(() => {
    const at = now();
    const stalledMs = Math.round(at - last - PERIOD_MS);
    last = at;
    if (stalledMs < warnAfterMs) return;
    logger.warn(
      { stalledMs, electionTimeoutMs },
      stalledMs >= electionTimeoutMs
        ? `event loop stopped for ${stalledMs} ms, longer than the election timeout: peers may have elected another leader`
        : `event loop stopped for ${stalledMs} ms (election timeout ${electionTimeoutMs} ms)`,
    );
  }, PERIOD_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
