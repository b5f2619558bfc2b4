import { Injectable } from '@nestjs/common';
import { Counter, Histogram } from 'prom-client';
import { MetricsRegistry } from './metrics-registry.js';

/** Why an inbound webhook was refused (the 4xx answers of POST /webhooks/:source). */
export type WebhookRejection =
  'signature_missing' | 'signature_invalid' | 'timestamp_out_of_tolerance' | 'malformed' | 'too_large' | 'unstorable';

export type IdempotencyOutcome = 'replayed' | 'in_flight' | 'mismatch';

/**
 * The shop's operational counters and histograms, counted where things happen and
 * injected there. Depends on the registry only, so unit tests can build one.
 * Gauges computed at scrape time (backlogs, queue depths) are in BacklogMetrics.
 */
@Injectable()
export class HooklineMetrics {
  readonly webhooksReceived: Counter<'source' | 'outcome' | 'reason'>;
  readonly webhookProcessingLag: Histogram<'source'>;
  readonly idempotentRequests: Counter<'route' | 'outcome'>;
  readonly rateLimited: Counter<'route'>;
  readonly inboxPurged: Counter;

  constructor(registry: MetricsRegistry) {
    this.webhooksReceived = new Counter({
      name: 'hookline_webhooks_received_total',
      help:
        'Inbound webhooks by source and outcome: accepted (stored and queued), duplicate (already seen, 200) or ' +
        'rejected (4xx, nothing stored) with its reason (signature_missing, signature_invalid, ' +
        'timestamp_out_of_tolerance, malformed, too_large, unstorable: valid JSON that jsonb cannot hold)',
      labelNames: ['source', 'outcome', 'reason'],
      registers: [registry],
    });
    this.webhookProcessingLag = new Histogram({
      name: 'hookline_webhook_processing_lag_seconds',
      help: 'Time from receiving an inbound event to applying it (inbox processed_at - received_at), by source',
      labelNames: ['source'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    });
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
    this.inboxPurged = new Counter({
      name: 'hookline_inbox_rows_purged_total',
      help: 'Inbox rows deleted by the retention (processed longer ago than INBOX_RETENTION)',
      registers: [registry],
    });
  }
}
