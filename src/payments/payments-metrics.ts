import { Injectable } from '@nestjs/common';
import { Counter } from 'prom-client';
import { MetricsRegistry } from '../metrics/metrics-registry.js';

/** The payments module's counters: payments resolved, and the shop's polls of the PSP. */
@Injectable()
export class PaymentsMetrics {
  readonly resolved: Counter<'via' | 'status'>;
  readonly polls: Counter<'via' | 'result'>;

  constructor(registry: MetricsRegistry) {
    this.resolved = new Counter({
      name: 'hookline_payments_resolved_total',
      help:
        'Payments that reached a final status, by how the result arrived (webhook, fallback_poll, short_poll, ' +
        'long_poll, reconciliation) and the status (succeeded, failed)',
      labelNames: ['via', 'status'],
      registers: [registry],
    });
    this.polls = new Counter({
      name: 'hookline_payment_polls_total',
      help: 'Status polls of the PSP by the shop, by kind (fallback_poll, short_poll, long_poll) and result (final, processing, error)',
      labelNames: ['via', 'result'],
      registers: [registry],
    });
  }
}
