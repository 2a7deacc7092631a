// Session-ticket keys every worker of a node agrees on: derived from the node's ticket seed, the
// listener and the current time window, so a ticket one worker issued resumes on any other, and
// keys rotate without anyone coordinating. Without a seed (a listener outside a node) they are random.
import { hkdfSync, randomBytes } from 'node:crypto';

/** Keys change this often; a ticket issued just before a change falls back to a full handshake. */
export const TICKET_WINDOW_MS = 6 * 3_600_000;
/** node: 16 bytes key name, 16 bytes HMAC secret, 16 bytes AES key. */
const TICKET_KEY_BYTES = 48;

export function ticketKeysFor(seed: Buffer, listener: string, window: number): Buffer {
  return Buffer.from(hkdfSync('sha256', seed, listener, `ballast session tickets ${window}`, TICKET_KEY_BYTES));
}

/** Calls `apply` with the current window's keys now and at each window boundary until stopped. */
export class TicketKeyRotation {
  private timer: NodeJS.Timeout | undefined;
  private seed: Buffer;

  constructor(
    seed: Buffer | undefined,
    private readonly listener: string,
    private readonly apply: (keys: Buffer) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.seed = seed ?? randomBytes(32);
  }

  start(): void {
    this.rotate();
  }

  /** A new seed (the node restarted its workers' secrets): re-derive at once. */
  setSeed(seed: Buffer | undefined): void {
    if (seed === undefined || seed.equals(this.seed)) return;
    this.seed = seed;
    this.rotate();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private rotate(): void {
    clearTimeout(this.timer);
    const now = this.now();
    const window = Math.floor(now / TICKET_WINDOW_MS);
    this.apply(ticketKeysFor(this.seed, this.listener, window));
    this.timer = setTimeout(() => this.rotate(), (window + 1) * TICKET_WINDOW_MS - now + 10);
    this.timer.unref();
  }
}
