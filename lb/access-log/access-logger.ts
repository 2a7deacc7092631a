// AccessLogger: one listener's access log as its spec says (format, destination, sampling).
import type { AccessLogSpec } from '../types.js';
import { formatCombined, formatJson } from './format.js';
import type { LogSink, LogSinks } from './log-sink.js';
import type { AccessRecord } from './types.js';

export class AccessLogger {
  private readonly sink: LogSink;
  private readonly format: (r: AccessRecord) => string;

  constructor(
    private readonly spec: AccessLogSpec,
    sinks: LogSinks,
    private readonly random: () => number = Math.random,
  ) {
    this.sink = sinks.sink(spec.path);
    this.format = spec.format === 'json' ? formatJson : formatCombined;
  }

  /** Decided per request before any work: unsampled requests build no record. */
  sampled(): boolean {
    return this.spec.sample >= 1 || (this.spec.sample > 0 && this.random() < this.spec.sample);
  }

  log(record: AccessRecord): void {
    this.sink.write(this.format(record));
  }
}

/** null when the listener logs nothing. */
export function compileAccessLog(spec: AccessLogSpec | undefined, sinks: LogSinks): AccessLogger | null {
  return spec === undefined || spec.sample <= 0 ? null : new AccessLogger(spec, sinks);
}
