// Scheduler construction by name: the one place that maps a SchedulerName to its strategy.
import type { SchedulerName } from '../types.js';
import { IpHashScheduler } from './ip-hash.js';
import { LeastConnScheduler } from './least-conn.js';
import { RoundRobinScheduler } from './round-robin.js';
import type { Scheduler } from './types.js';

export function createScheduler(name: SchedulerName): Scheduler {
  switch (name) {
    case 'round-robin':
      return new RoundRobinScheduler();
    case 'least-conn':
      return new LeastConnScheduler();
    case 'ip-hash':
      return new IpHashScheduler();
    default: {
      const unknown: never = name;
      throw new TypeError(`unknown scheduler: ${String(unknown)}`);
    }
  }
}
