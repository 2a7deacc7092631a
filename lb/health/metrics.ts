// Health-check metric families, registered on the registry the monitor is given.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface HealthMetrics {
  /** 1 up, 0 down; no series while a backend's health is unknown or it is not checked. */
  backendUp: Gauge<'pool' | 'backend'>;
  /** Per pool and probe type rather than per backend: a histogram per backend costs a series per bucket. */
  checkDuration: Histogram<'pool' | 'type'>;
  checksTotal: Counter<'pool' | 'backend' | 'result'>;
  transitionsTotal: Counter<'pool' | 'backend' | 'to'>;
}

/**
 * Registers the families, or picks up the ones a previous monitor registered on the same registry:
 * the node may build a new monitor each time it becomes leader, and prom-client refuses a second
 * registration of a name.
 */
export function createHealthMetrics(registry: Registry): HealthMetrics {
  const registers = [registry];
  const existing = <T>(name: string, kind: abstract new (...args: never[]) => T): T | undefined => {
    const metric = registry.getSingleMetric(name);
    return metric instanceof kind ? metric : undefined;
  };
  return {
    backendUp:
      existing<Gauge<'pool' | 'backend'>>('ballast_backend_up', Gauge) ??
      new Gauge({
        name: 'ballast_backend_up',
        help: 'Observed backend health: 1 up, 0 down (absent while unknown or unchecked)',
        labelNames: ['pool', 'backend'],
        registers,
      }),
    checkDuration:
      existing<Histogram<'pool' | 'type'>>('ballast_health_check_duration_seconds', Histogram) ??
      new Histogram({
        name: 'ballast_health_check_duration_seconds',
        help: 'Duration of active health checks, failures included',
        labelNames: ['pool', 'type'],
        buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers,
      }),
    checksTotal:
      existing<Counter<'pool' | 'backend' | 'result'>>('ballast_health_checks_total', Counter) ??
      new Counter({
        name: 'ballast_health_checks_total',
        help: 'Active health checks completed, by result (pass or fail)',
        labelNames: ['pool', 'backend', 'result'],
        registers,
      }),
    transitionsTotal:
      existing<Counter<'pool' | 'backend' | 'to'>>('ballast_health_transitions_total', Counter) ??
      new Counter({
        name: 'ballast_health_transitions_total',
        help: 'Observed health transitions, by the state entered',
        labelNames: ['pool', 'backend', 'to'],
        registers,
      }),
  };
}
