import { Injectable } from '@nestjs/common';
import { Counter } from 'prom-client';
import { MetricsRegistry } from '../../metrics/metrics-registry.js';

/** The inbox's own counters: redeliveries with another body, dead letters and their replays. */
@Injectable()
export class InboxMetrics {
  readonly duplicateBodyDiffers: Counter<'source'>;
  readonly dead: Counter<'source'>;
  readonly replayed: Counter<'source'>;

  constructor(registry: MetricsRegistry) {
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
  }
}
