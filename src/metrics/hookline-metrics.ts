import { Injectable } from '@nestjs/common';
import { Counter, Histogram } from 'prom-client';
import { MetricsRegistry } from './metrics-registry.js';

/** Why an inbound webhook was refused (the 4xx answers of POST /webhooks/:source). */
export type WebhookRejection =
  'signature_missing' | 'signature_invalid' | 'timestamp_out_of_tolerance' | 'malformed' | 'too_large' | 'unstorable';

/**
 * The shop's operational counters and histograms, counted where things happen and
 * injected there. Depends on the registry only, so unit tests can build one.
 * Gauges computed at scrape time (backlogs, queue depths) are in BacklogMetrics.
 */
@Injectable()
export class HooklineMetrics {
  readonly webhooksReceived: Counter<'source' | 'outcome' | 'reason'>;
  readonly webhookProcessingLag: Histogram<'source'>;
  readonly paymentsResolved: Counter<'via' | 'status'>;
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
    this.paymentsResolved = new Counter({
      name: 'hookline_payments_resolved_total',
      help:
        'Payments that reached a final status, by how the result arrived (webhook, fallback_poll, short_poll, ' +
        'long_poll, reconciliation) and the status (succeeded, failed)',
      labelNames: ['via', 'status'],
      registers: [registry],
    });
    this.inboxPurged = new Counter({
      name: 'hookline_inbox_rows_purged_total',
      help: 'Inbox rows deleted by the retention (processed longer ago than INBOX_RETENTION)',
      registers: [registry],
    });
  }
}
