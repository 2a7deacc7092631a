// A worker's TLS material from its node: the cluster's certificates by name and the ticket seed,
// with change notifications so listeners swap contexts only for what actually changed.
import type { CertificateSpec } from '../types.js';

export type MaterialWatcher = (changedCertificates: ReadonlySet<string>, seedChanged: boolean) => void;

export class TlsMaterial {
  private certificates = new Map<string, CertificateSpec>();
  private seed: Buffer | undefined;
  private readonly watchers = new Set<MaterialWatcher>();

  /** Apply the certificates and seed of a new DataPlaneState; watchers hear about changed names only. */
  update(certificates: readonly CertificateSpec[] | undefined, ticketSeed: string | undefined): void {
    const next = new Map((certificates ?? []).map((c) => [c.name, c]));
    const changed = new Set<string>();
    for (const [name, spec] of next) {
      const prev = this.certificates.get(name);
      if (prev === undefined || prev.cert !== spec.cert || prev.key !== spec.key) changed.add(name);
    }
    for (const name of this.certificates.keys()) if (!next.has(name)) changed.add(name);
    this.certificates = next;
    const seed = ticketSeed === undefined ? undefined : Buffer.from(ticketSeed, 'base64');
    const seedChanged = seed !== undefined && (this.seed === undefined || !seed.equals(this.seed));
    if (seedChanged) this.seed = seed;
    if (changed.size === 0 && !seedChanged) return;
    for (const watcher of this.watchers) watcher(changed, seedChanged);
  }

  certificate(name: string): CertificateSpec | undefined {
    return this.certificates.get(name);
  }

  ticketSeed(): Buffer | undefined {
    return this.seed;
  }

  /** Returns the unsubscribe function. */
  watch(watcher: MaterialWatcher): () => void {
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }
}
