import { Injectable } from '@nestjs/common';
import { Counter, Histogram } from 'prom-client';
import { MetricsRegistry } from '../../metrics/metrics-registry.js';

/** Why an inbound webhook was refused (the 4xx answers of POST /webhooks/:source). */
export type WebhookRejection =
  'signature_missing' | 'signature_invalid' | 'timestamp_out_of_tolerance' | 'malformed' | 'too_large' | 'unstorable';

/**
 * Inbound webhooks' counters: what the receiver answered, how long events waited to be
 * applied, redeliveries with another body, dead letters with their replays and discards,
 * and the retention's deletions.
 */
@Injectable()
export class InboundMetrics {
  readonly received: Counter<'source' | 'outcome' | 'reason'>;
  readonly processingLag: Histogram<'source'>;
  readonly duplicateBodyDiffers: Counter<'source'>;
  readonly dead: Counter<'source'>;
  readonly replayed: Counter<'source'>;
  readonly discarded: Counter<'source'>;
  readonly purged: Counter;

  constructor(registry: MetricsRegistry) {
    this.received = new Counter({
      name: 'hookline_webhooks_received_total',
      help:
        'Inbound webhooks by source and outcome: accepted (stored and queued), duplicate (already seen, 200) or ' +
        'rejected (4xx, nothing stored) with its reason (signature_missing, signature_invalid, ' +
        'timestamp_out_of_tolerance, malformed, too_large, unstorable: valid JSON that jsonb cannot hold)',
      labelNames: ['source', 'outcome', 'reason'],
      registers: [registry],
    });
    this.processingLag = new Histogram({
      name: 'hookline_webhook_processing_lag_seconds',
      help: 'Time from receiving an inbound event to applying it (inbox processed_at - received_at), by source',
      labelNames: ['source'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    });
    this.duplicateBodyDiffers = new Counter({
      name: 'hookline_webhook_duplicate_body_mismatch_total',
      help: 'Redelivered inbound events (same source and event_id, answered 200 duplicate) whose body differs from the stored one, by source',
      labelNames: ['source'],
      registers: [registry],
    });
    this.dead = new Counter({
      name: 'hookline_inbox_dead_total',
      help: 'Inbox rows marked dead after INBOX_MAX_ATTEMPTS failed attempts to apply them, by source',
      labelNames: ['source'],
      registers: [registry],
    });
    this.replayed = new Counter({
      name: 'hookline_inbox_replayed_total',
      help: 'Dead inbox rows put back to be applied again through the admin API, by source',
      labelNames: ['source'],
      registers: [registry],
    });
    this.discarded = new Counter({
      name: 'hookline_inbox_discarded_total',
      help: 'Dead inbox rows deleted through the admin API (judged never to apply), by source',
      labelNames: ['source'],
      registers: [registry],
    });
    this.purged = new Counter({
      name: 'hookline_inbox_rows_purged_total',
      help: 'Inbox rows deleted by the retention (processed longer ago than INBOX_RETENTION)',
      registers: [registry],
    });
  }
}
