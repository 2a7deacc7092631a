// EdgeRuntime: what a worker's engines share for edge protection: the rate limiter over the node
// channel, decision metrics and the access log files.
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { LogSinks } from '../access-log/log-sink.js';
import { LocalEdgeChannel } from './local-edge-channel.js';
import { createEdgeMetrics, type EdgeMetrics } from './metrics.js';
import { RateLimiter } from './rate-limit.js';
import type { EdgeChannel } from './types.js';

export interface EdgeRuntime {
  channel: EdgeChannel;
  limiter: RateLimiter;
  metrics: EdgeMetrics;
  sinks: LogSinks;
}

export function createEdgeRuntime(opts: { registry?: Registry; channel?: EdgeChannel; logger?: Logger; now?: () => number } = {}): EdgeRuntime {
  const channel = opts.channel ?? new LocalEdgeChannel();
  let warnedAt = 0;
  const limiter = new RateLimiter(channel, opts.now ?? Date.now, (err) => {
    // Failing open is loud, but not once per request.
    const now = Date.now();
    if (now - warnedAt < 10_000) return;
    warnedAt = now;
    opts.logger?.warn({ err }, 'rate limit state unreachable on the node; admitting requests');
  });
  return { channel, limiter, metrics: createEdgeMetrics(opts.registry ?? new Registry()), sinks: new LogSinks() };
}
