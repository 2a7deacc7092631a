// One HTTP request's bookkeeping (Trip) and the access-log record made of it when it ends.
import { performance } from 'node:perf_hooks';
import type { AccessRecord } from '../access-log/types.js';
import { routeId } from '../edge/http-gate.js';
import { peerOf } from '../edge/peer-address.js';
import type { RouteSpec } from '../types.js';
import type { Exchange } from './exchange.js';
import type { ClientRequest } from './types.js';

/** One request's bookkeeping for metrics and the access log. */
export interface Trip {
  exchange?: Exchange;
  /** Edge rule that refused it. */
  rule?: string;
  startedAt: number;
}

/** What the request was routed to, what it answered, and what it moved; `began` is its performance.now(). */
export interface TripOutcome {
  listener: string;
  route: RouteSpec | undefined;
  pool: string;
  status: number;
  bytes: { read: number; written: number };
  began: number;
}

export function httpAccessRecord(req: ClientRequest, trip: Trip, o: TripOutcome): AccessRecord {
  const peer = peerOf(req.socket);
  const timing = trip.exchange?.timing;
  const header = (name: string): string | undefined => {
    const v = req.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const r: AccessRecord = {
    time: trip.startedAt,
    kind: 'http',
    listener: o.listener,
    route: o.route === undefined ? '' : routeId(o.route),
    pool: o.pool,
    backend: trip.exchange?.reachedBackend ?? '',
    client: peer.address,
    clientPort: peer.port,
    method: req.method ?? '',
    url: (req.url ?? '').slice(0, 4096),
    protocol: `HTTP/${req.httpVersion}`,
    status: o.status,
    outcome: trip.rule === undefined ? 'ok' : 'refused',
    bytesIn: o.bytes.read,
    bytesOut: o.bytes.written,
    connectMs: timing?.connectedAt === undefined ? null : timing.connectedAt - o.began,
    ttfbMs: timing?.firstByteAt === undefined ? null : timing.firstByteAt - o.began,
    totalMs: performance.now() - o.began,
  };
  const ua = header('user-agent');
  const referer = header('referer');
  if (ua !== undefined) r.userAgent = ua;
  if (referer !== undefined) r.referer = referer;
  if (trip.rule !== undefined) r.rule = trip.rule;
  return r;
}
