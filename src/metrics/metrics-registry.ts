import { Registry, collectDefaultMetrics } from 'prom-client';

/** One registry per application instance (tests run several apps in one process). */
export class MetricsRegistry extends Registry {
  constructor() {
    super();
    collectDefaultMetrics({ register: this, prefix: 'hookline_process_' });
  }
}
