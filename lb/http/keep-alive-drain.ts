// KeepAliveDrain: closes a listener's HTTP/1 keep-alive connections on one local address (the VIP,
// before a planned move) the way HAProxy and nginx do on a graceful stop: a connection busy with a
// request gets `Connection: close` on its response and ends with it; one idle for a while is closed
// now. A client then opens its next connection to whoever holds the address next, instead of
// sending a request on a connection the next holder has never seen (and would reset).
import type { Socket } from 'node:net';

/** The response of a request in flight, as far as closing its connection needs it. */
interface PendingResponse {
  readonly headersSent: boolean;
  setHeader(name: string, value: string): unknown;
}

/** A connection idle this long is not about to send a request: closing it now races nothing likely. */
const IDLE_CLOSE_MS = 250;
const SWEEP_MS = 50;

function onAddress(socket: Socket, ip: string): boolean {
  const local = socket.localAddress;
  return local === ip || local === `::ffff:${ip}`;
}

export class KeepAliveDrain {
  /** HTTP/1 connections that have carried a request, each with when its last response ended (null: busy now). */
  private readonly idleSince = new Map<Socket, number | null>();
  /** The response in flight on each busy connection. */
  private readonly busy = new Map<Socket, PendingResponse>();
  private ip: string | null = null;
  private sweep: NodeJS.Timeout | undefined;

  /** A request starts on `socket` (HTTP/1 only: an HTTP/2 stream's socket is the session's). */
  requestStarted(socket: Socket, res: PendingResponse): void {
    if (!this.idleSince.has(socket)) {
      socket.once('close', () => {
        this.idleSince.delete(socket);
        this.busy.delete(socket);
      });
    }
    this.idleSince.set(socket, null);
    this.busy.set(socket, res);
    if (this.closes(socket)) res.setHeader('Connection', 'close');
  }

  requestEnded(socket: Socket): void {
    this.busy.delete(socket);
    if (this.idleSince.has(socket)) this.idleSince.set(socket, Date.now());
  }

  /** Whether the response on `socket` must end its connection (Connection: close). */
  closes(socket: Socket): boolean {
    return this.ip !== null && onAddress(socket, this.ip);
  }

  /**
   * Starts (or, with null, stops) closing keep-alive connections on `ip`; idempotent. Returns how
   * many connections that carried a request are still open on it.
   */
  closeOn(ip: string | null): number {
    if (ip !== this.ip) {
      this.ip = ip;
      clearInterval(this.sweep);
      this.sweep = undefined;
      if (ip !== null) {
        this.sweep = setInterval(() => this.closeIdle(), SWEEP_MS);
        this.sweep.unref();
        // Responses under way whose head is not out yet end their connection too; one already
        // streaming keeps it open, which then idles into the sweep.
        for (const [socket, res] of this.busy) if (!res.headersSent && onAddress(socket, ip)) res.setHeader('Connection', 'close');
      }
    }
    if (ip === null) return 0;
    this.closeIdle();
    let open = 0;
    for (const socket of this.idleSince.keys()) if (onAddress(socket, ip)) open++;
    return open;
  }

  stop(): void {
    this.closeOn(null);
  }

  private closeIdle(): void {
    const ip = this.ip;
    if (ip === null) return;
    const now = Date.now();
    for (const [socket, since] of this.idleSince) {
      if (since !== null && now - since >= IDLE_CLOSE_MS && onAddress(socket, ip)) socket.destroy();
    }
  }
}
