// Types of access logging: one record per HTTP request or TCP connection.

export interface AccessRecord {
  /** Epoch ms the request (or connection) began. */
  time: number;
  kind: 'http' | 'tcp';
  listener: string;
  /** http: "host/prefix" of the matched route, "" when none matched. */
  route: string;
  pool: string;
  /** "" when no backend was reached. */
  backend: string;
  client: string;
  clientPort: number;
  /** http only. */
  method?: string;
  url?: string;
  protocol?: string;
  userAgent?: string;
  referer?: string;
  /** http: the status sent (499: client left first); tcp: 0. */
  status: number;
  /** tcp: ok, or why the connection was refused/failed (access-deny, rate-limit, conn-limit, proxy-header, no_backend...). */
  outcome: string;
  /** Set when an edge rule decided the answer (filter rule id, access-deny, rate-limit). */
  rule?: string;
  bytesIn: number;
  bytesOut: number;
  /** ms until a backend connection carried the request (pooled: the wait for one); null when none did. */
  connectMs: number | null;
  /** ms until the backend's first response byte (http: headers). */
  ttfbMs: number | null;
  totalMs: number;
}
