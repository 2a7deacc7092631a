// Reconnect delays: exponential from `initialMs`, capped at `maxMs`, with "equal jitter" (half fixed,
// half random) so restarted peers do not redial in lockstep yet never retry in a tight loop.

export class Backoff {
  #attempt = 0;

  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
    private readonly random: () => number,
  ) {
    if (!(initialMs > 0) || !(maxMs >= initialMs)) throw new RangeError(`backoff needs 0 < initialMs (${initialMs}) <= maxMs (${maxMs})`);
  }

  /** The delay before the next attempt; each call doubles the ceiling until the cap. */
  next(): number {
    const ceiling = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.#attempt, 30));
    this.#attempt++;
    return Math.round(ceiling / 2 + (ceiling / 2) * this.random());
  }

  reset(): void {
    this.#attempt = 0;
  }
}
