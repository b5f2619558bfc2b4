import { Injectable } from '@nestjs/common';
import { Counter } from 'prom-client';
import { MetricsRegistry } from './metrics-registry.js';

export type IdempotencyOutcome = 'replayed' | 'in_flight' | 'mismatch';

/**
 * The shop's operational counters and histograms, counted where things happen and
 * injected there. Depends on the registry only, so unit tests can build one.
 * Gauges computed at scrape time (backlogs, queue depths) are in BacklogMetrics.
 */
@Injectable()
export class HooklineMetrics {
  readonly idempotentRequests: Counter<'route' | 'outcome'>;
  readonly rateLimited: Counter<'route'>;

  constructor(registry: MetricsRegistry) {
    this.idempotentRequests = new Counter({
      name: 'hookline_idempotent_replays_total',
      help:
        'Requests with a known Idempotency-Key, by route and outcome: replayed (stored answer sent again), ' +
        'in_flight (409, first request still running), mismatch (422, key reused with another request)',
      labelNames: ['route', 'outcome'],
      registers: [registry],
    });
    this.rateLimited = new Counter({
      name: 'hookline_rate_limited_total',
      help: 'Requests refused with 429 by the rate limit, by route',
      labelNames: ['route'],
      registers: [registry],
    });
  }
}
