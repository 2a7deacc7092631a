// OcspStapler: the OCSP responses a TLS listener staples, one per certificate that names a
// responder. Fetched on the first handshake that asks (as nginx does), cached until nextUpdate
// minus a margin, refreshed in the background halfway through; a handshake never waits on the
// responder, and a responder that is down only means no staple once the cached one went stale.
import { createHash, X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import { ocspRequest, ocspUrl, parseOcspResponse } from './ocsp.js';

/** A response without nextUpdate is treated as valid this long (nginx: one hour as well). */
const DEFAULT_VALIDITY_MS = 3_600_000;
/** Stop stapling this long before nextUpdate, at most; a quarter of the validity when shorter. */
const MAX_MARGIN_MS = 3_600_000;
const FETCH_TIMEOUT_MS = 5_000;
/** Retries after a failed fetch back off from the first to the last. */
const RETRY_MIN_MS = 5_000;
const RETRY_MAX_MS = 300_000;
/** A refresh is never scheduled sooner than this (a response about to go stale, a slow clock). */
const MIN_REFRESH_MS = 1_000;

export interface OcspStaplerOptions {
  logger: Logger;
  listener: string;
  now?: () => number;
  fetchTimeoutMs?: number;
}

interface Entry {
  url: string;
  subject: string;
  request: Buffer;
  cert: X509Certificate;
  issuer: X509Certificate;
  response: Buffer | undefined;
  /** Epoch ms after which the cached response is no longer stapled. */
  staleAt: number;
  timer: NodeJS.Timeout | undefined;
  fetching: Promise<void> | undefined;
  failures: number;
}

type OcspCallback = (err: Error | null, response?: Buffer | null) => void;

export class OcspStapler {
  /** By SHA-256 of the certificate's DER; null: the certificate names no responder (or no issuer came with it). */
  private readonly entries = new Map<string, Entry | null>();
  private readonly now: () => number;
  private closed = false;

  constructor(private readonly opts: OcspStaplerOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** tls.Server 'OCSPRequest': answers at once, from the cache. */
  handle(certificate: Buffer, issuer: Buffer | null, callback: OcspCallback): void {
    const entry = this.entry(certificate, issuer);
    if (entry === null) {
      callback(null, null);
      return;
    }
    callback(null, entry.response !== undefined && this.now() < entry.staleAt ? entry.response : null);
    if (entry.response === undefined && entry.fetching === undefined && entry.timer === undefined) void this.refresh(entry);
  }

  /** The response stapled for this certificate right now (tests, status). */
  stapled(certificate: Buffer): Buffer | undefined {
    const entry = this.entries.get(keyOf(certificate));
    return entry?.response !== undefined && this.now() < entry.staleAt ? entry.response : undefined;
  }

  /** Fetch now for every known certificate; resolves once those fetches settled. */
  async refreshAll(): Promise<void> {
    const all = [...this.entries.values()].filter((e): e is Entry => e !== null);
    await Promise.all(all.map((e) => this.refresh(e)));
  }

  /** Certificates changed: forget every entry (the next handshakes fetch for the new set). */
  reset(): void {
    for (const e of this.entries.values()) if (e !== null) clearTimeout(e.timer);
    this.entries.clear();
  }

  close(): void {
    this.closed = true;
    this.reset();
  }

  private entry(certificate: Buffer, issuer: Buffer | null): Entry | null {
    const key = keyOf(certificate);
    const known = this.entries.get(key);
    if (known !== undefined) return known;
    let entry: Entry | null = null;
    try {
      const cert = new X509Certificate(certificate);
      const url = ocspUrl(cert);
      if (url !== undefined && issuer !== null) {
        const issuerCert = new X509Certificate(issuer);
        const request = ocspRequest(cert, issuerCert);
        entry = { url, subject: cert.subject, request, cert, issuer: issuerCert, response: undefined, staleAt: 0, timer: undefined, fetching: undefined, failures: 0 };
      }
    } catch (err) {
      this.opts.logger.warn({ listener: this.opts.listener, err: (err as Error).message }, 'OCSP: cannot build a request for this certificate; no stapling');
    }
    this.entries.set(key, entry);
    return entry;
  }

  private refresh(entry: Entry): Promise<void> {
    entry.fetching ??= this.fetch(entry).finally(() => (entry.fetching = undefined));
    return entry.fetching;
  }

  private async fetch(entry: Entry): Promise<void> {
    clearTimeout(entry.timer);
    entry.timer = undefined;
    try {
      const res = await fetch(entry.url, {
        method: 'POST',
        headers: { 'content-type': 'application/ocsp-request', accept: 'application/ocsp-response' },
        body: new Uint8Array(entry.request),
        signal: AbortSignal.timeout(this.opts.fetchTimeoutMs ?? FETCH_TIMEOUT_MS),
      });
      const der = Buffer.from(await res.arrayBuffer());
      if (res.status !== 200) throw new Error(`responder answered HTTP ${res.status}`);
      const answer = parseOcspResponse(der, entry.cert, entry.issuer);
      // nginx's rule as well: only a "good" status is stapled; anything else the client finds out itself.
      if (answer.status !== 'good') throw new Error(`certificate status is ${answer.status}`);
      const next = answer.nextUpdate ?? answer.thisUpdate + DEFAULT_VALIDITY_MS;
      const validity = Math.max(0, next - answer.thisUpdate);
      const now = this.now();
      if (next <= now) throw new Error('the response is already past its nextUpdate');
      entry.response = der;
      entry.staleAt = next - Math.min(MAX_MARGIN_MS, validity / 4);
      entry.failures = 0;
      this.schedule(entry, Math.max(MIN_REFRESH_MS, answer.thisUpdate + validity / 2 - now));
      this.opts.logger.debug({ listener: this.opts.listener, subject: entry.subject, nextUpdate: new Date(next).toISOString() }, 'OCSP response cached');
    } catch (err) {
      entry.failures += 1;
      const wait = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (entry.failures - 1));
      this.schedule(entry, wait);
      const stapling = entry.response !== undefined && this.now() < entry.staleAt;
      this.opts.logger.warn(
        { listener: this.opts.listener, subject: entry.subject, url: entry.url, err: (err as Error).message, retryInMs: wait, stapling },
        stapling ? 'OCSP refresh failed; still stapling the cached response' : 'OCSP fetch failed; no staple until it succeeds',
      );
    }
  }

  private schedule(entry: Entry, ms: number): void {
    if (this.closed) return;
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => void this.refresh(entry), ms);
    entry.timer.unref();
  }
}

function keyOf(certificate: Buffer): string {
  return createHash('sha256').update(certificate).digest('hex');
}
