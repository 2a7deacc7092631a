// Bounded polling for the failover drills: every wait has a deadline and a cap on attempts.
import { setTimeout as sleep } from 'node:timers/promises';

export interface PollOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** Named in the error when the deadline passes. */
  what: string;
}

/** Calls `probe` until it returns a non-null value; throws after `timeoutMs`, with the last probe error if any. */
export async function pollUntil<T>(probe: () => Promise<T | null>, options: PollOptions): Promise<T> {
  const intervalMs = options.intervalMs ?? 100;
  const deadline = Date.now() + options.timeoutMs;
  const maxAttempts = Math.ceil(options.timeoutMs / Math.max(1, intervalMs)) + 1;
  let lastError: unknown = null;
  for (let attempt = 0; attempt < maxAttempts && Date.now() <= deadline; attempt++) {
    try {
      const value = await probe();
      if (value !== null) return value;
    } catch (err) {
      lastError = err;
    }
    await sleep(intervalMs);
  }
  const detail = lastError instanceof Error ? `: last error ${lastError.message}` : '';
  throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.what}${detail}`);
}
