import { Registry, collectDefaultMetrics } from 'prom-client';

/**
 * How often the event-loop delay is sampled (prom-client's default: 10 ms, a timer that
 * wakes an idle process 100 times a second): every stall this long or longer is still
 * seen (docs/decisions/0022-event-loop-sampled-every-100ms.md).
 */
export const EVENT_LOOP_MONITORING_PRECISION_MS = 100;

/** One registry per application instance (tests run several apps in one process). */
export class MetricsRegistry extends Registry {
  constructor() {
    super();
    collectDefaultMetrics({
      register: this,
      prefix: 'hookline_process_',
      eventLoopMonitoringPrecision: EVENT_LOOP_MONITORING_PRECISION_MS,
    });
  }
}
