import { Injectable } from '@nestjs/common';
import { Counter } from 'prom-client';
import { MetricsRegistry } from '../metrics/metrics-registry.js';

export type IdempotencyOutcome = 'replayed' | 'in_flight' | 'mismatch';

/** What the HTTP surface counts: Idempotency-Key replays and refusals, and rate-limited requests. */
@Injectable()
export class HttpMetrics {
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
