import { Injectable } from '@nestjs/common';
import { Counter, Histogram } from 'prom-client';
import { MetricsRegistry } from '../../metrics/metrics-registry.js';

/** The outbound engine's counters, by owner (shop, psp). */
@Injectable()
export class OutboundMetrics {
  readonly attempts: Counter<'owner' | 'outcome'>;
  readonly attemptSeconds: Histogram<'owner' | 'outcome'>;
  readonly deferred: Counter<'reason'>;
  readonly tlsFailures: Counter<'owner' | 'reason'>;
  readonly endpointsDisabled: Counter<'owner'>;
  readonly swept: Counter<'owner'>;
  readonly unrecorded: Counter<'owner'>;
  readonly purged: Counter<'owner'>;

  constructor(registry: MetricsRegistry) {
    this.attempts = new Counter({
      name: 'hookline_webhook_delivery_attempts_total',
      help: 'Outbound webhook delivery attempts by owner (shop, psp) and outcome (succeeded, failed)',
      labelNames: ['owner', 'outcome'],
      registers: [registry],
    });
    this.attemptSeconds = new Histogram({
      name: 'hookline_webhook_delivery_attempt_seconds',
      help: 'Duration of one outbound delivery attempt (request sent to answer read, or failure), by owner and outcome',
      labelNames: ['owner', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30],
      registers: [registry],
    });
    this.deferred = new Counter({
      name: 'hookline_webhook_delivery_deferred_total',
      help: 'Delivery attempts put off without sending, by reason (rate_limited: the endpoint is at its rate limit; endpoint_busy: it has its share of in-flight slots)',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.tlsFailures = new Counter({
      name: 'hookline_webhook_delivery_tls_failures_total',
      help: 'Failed delivery attempts whose TLS connection failed, by owner and reason (unknown_ca, expired, not_yet_valid, hostname_mismatch, handshake_timeout)',
      labelNames: ['owner', 'reason'],
      registers: [registry],
    });
    this.endpointsDisabled = new Counter({
      name: 'hookline_webhook_endpoints_disabled_total',
      help: 'Endpoints disabled by the engine (410 Gone, or failing longer than WEBHOOK_DISABLE_AFTER), by owner',
      labelNames: ['owner'],
      registers: [registry],
    });
    this.swept = new Counter({
      name: 'hookline_webhook_deliveries_swept_total',
      help: 'Due deliveries re-enqueued by the sweeper (their Bull job was lost, e.g. Redis flushed), by owner',
      labelNames: ['owner'],
      registers: [registry],
    });
    this.unrecorded = new Counter({
      name: 'hookline_webhook_delivery_attempts_unrecorded_total',
      help: 'Delivery attempts sent whose outcome PostgreSQL did not record (refused or down), by owner: the delivery stays pending and is held back (at least the schedule step, 5 s doubling per such attempt in a row, up to 1 h) instead of sent again at once',
      labelNames: ['owner'],
      registers: [registry],
    });
    this.purged = new Counter({
      name: 'hookline_webhook_messages_purged_total',
      help: 'Messages deleted past WEBHOOK_RETENTION with their deliveries and attempts, by owner',
      labelNames: ['owner'],
      registers: [registry],
    });
  }
}
