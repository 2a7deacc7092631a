// The gratuitous-ARP schedule that follows a VIP takeover: arping -U then -A, repeated later, cancellable.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { isVipError } from './errors.js';
import type { CommandRunner, GarpOptions } from './types.js';

export const DEFAULT_GARP: GarpOptions = { repeats: 1, delayMs: 5000, count: 3 };

/**
 * Announces `ip` on `iface` the way keepalived does after a takeover: unsolicited ARP requests (`-U`, for
 * neighbours that only learn from requests) and ARP replies (`-A`, for those that only learn from replies),
 * then the same again after a delay for switches and hosts that missed the first round. A failed round is
 * logged, not thrown: the address is already up and traffic may reach it anyway.
 */
export class GarpAnnouncer {
  private controller: AbortController | null = null;
  private current: Promise<void> = Promise.resolve();

  constructor(
    private readonly runner: CommandRunner,
    private readonly iface: string,
    private readonly ip: string,
    private readonly options: GarpOptions,
    private readonly logger: Logger,
  ) {}

  /** Starts a fresh schedule, dropping any that is still running. */
  start(): void {
    this.cancel();
    const controller = new AbortController();
    this.controller = controller;
    this.current = this.schedule(controller.signal).finally(() => {
      if (this.controller === controller) this.controller = null;
    });
  }

  /** Stops a running schedule: kills an arping in flight and skips the repeats. */
  cancel(): void {
    this.controller?.abort();
    this.controller = null;
  }

  /** Resolves when the current schedule has finished or was cancelled; never rejects. */
  settled(): Promise<void> {
    return this.current;
  }

  private async schedule(signal: AbortSignal): Promise<void> {
    const rounds = 1 + Math.max(0, Math.floor(this.options.repeats));
    for (let round = 0; round < rounds && !signal.aborted; round++) {
      if (round > 0) {
        try {
          await sleep(this.options.delayMs, undefined, { signal });
        } catch {
          return;
        }
      }
      for (const mode of ['-U', '-A'] as const) {
        if (signal.aborted) return;
        await this.arping(mode, round, signal);
      }
    }
  }

  private async arping(mode: '-U' | '-A', round: number, signal: AbortSignal): Promise<void> {
    const count = Math.max(1, Math.floor(this.options.count));
    const args = [mode, '-c', String(count), '-I', this.iface, this.ip];
    try {
      // arping waits about a second per packet; the slack covers a loaded machine.
      await this.runner.run('arping', args, { timeoutMs: count * 1000 + 5000, signal });
      this.logger.debug({ mode, round }, 'gratuitous ARP sent');
    } catch (err) {
      if (isVipError(err, 'VIP_ERR_CANCELLED')) return;
      this.logger.warn({ err, mode, round }, 'gratuitous ARP failed');
    }
  }
}
