// Cookie stickiness for one request: try the backend the client's cookie names (while it is
// eligible), else the pool's scheduler; remember which backend answered so the response can
// (re)set the cookie. The cookie names the backend, not the node or worker, so any node honours it.
import type { BackendLease, PoolPicker } from '../types.js';

export class StickyPicker implements PoolPicker {
  readonly name: string;
  /** Backend of the latest lease (the one that answers, after retries). */
  private chosen: string | undefined;

  constructor(
    private readonly inner: PoolPicker,
    private readonly preferred: string | undefined,
  ) {
    this.name = inner.name;
  }

  acquire(clientIp: string, exclude?: ReadonlySet<string>): BackendLease | undefined {
    if (this.preferred !== undefined && this.inner.acquireBackend !== undefined) {
      const pinned = this.inner.acquireBackend(this.preferred, exclude);
      if (pinned !== undefined) {
        this.chosen = pinned.backend;
        return pinned;
      }
    }
    const lease = this.inner.acquire(clientIp, exclude);
    this.chosen = lease?.backend;
    return lease;
  }

  /** The cookie value to set: the answering backend when it differs from the client's cookie. */
  cookieUpdate(): string | undefined {
    return this.chosen !== undefined && this.chosen !== this.preferred ? this.chosen : undefined;
  }
}
