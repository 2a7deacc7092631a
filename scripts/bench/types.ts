// Shapes shared by the data-plane benchmark's modules: targets, measurements, child messages.

/**
 * Where a load generator points: one of the two load balancers, one origin directly, or the
 * bare Node.js balancer that shows what the runtime alone costs (node-floor.ts).
 */
export type TargetName = 'ballast' | 'haproxy' | 'direct' | 'node-floor';

/** The last three over TLS, Ballast and HAProxy only: tls-handshake is https with one connection per request. */
export type ScenarioName = 'http-keepalive' | 'http-close' | 'tcp-bulk' | 'tls-handshake' | 'https-keepalive' | 'h2';

export interface Endpoint {
  host: string;
  port: number;
}

/** What the origin child process reports once every server listens. */
export interface OriginsReady {
  type: 'ready';
  /** Small fixed-response HTTP origins (keep-alive). */
  http: number[];
  /** TCP sinks: read everything, answer the byte count on FIN. */
  sinks: number[];
}

/** What the TCP bulk client child reports. */
export interface BulkReport {
  type: 'bulk';
  streams: number;
  /** Bytes the sinks acknowledged (what actually crossed the path). */
  bytes: number;
  /** From the first connect to the last acknowledgement. */
  ms: number;
  /** Set when a stream failed or the sink never acknowledged (e.g. half-close not forwarded). */
  error?: string;
}

/** CPU the target's process group used during a measured run (null where /proc is missing). */
export interface CpuUse {
  ms: number;
  wallMs: number;
}

export interface WrkResult {
  cpu: CpuUse | null;
  requestsPerSec: number;
  requests: number;
  /** Microseconds. */
  p50Us: number;
  p99Us: number;
  socketErrors: { connect: number; read: number; write: number; timeout: number };
  non2xx3xx: number;
}

export interface BulkResult {
  cpu: CpuUse | null;
  /** Decimal megabytes (10^6 bytes) per second. */
  mbPerSec: number;
  bytes: number;
  ms: number;
}

export type Measurement = WrkResult | BulkResult;

/** A target's runs of one scenario (interleaved with the other targets' runs, round by round). */
export interface Measured {
  /** The run with the median headline (requests/s or MB/s); its latencies are the ones shown. */
  median: Measurement;
  /** Headline of every successful run, in run order. */
  headlines: number[];
  /** Why the other runs failed. */
  failures: string[];
}

/** One cell of the table: a measurement, or why there is none. */
export type Cell<T> = { ok: true; value: T } | { ok: false; reason: string };

export interface ScenarioResult {
  scenario: ScenarioName;
  cells: Record<TargetName, Cell<Measured>>;
}
