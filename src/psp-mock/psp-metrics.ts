import { Injectable } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { MetricsRegistry } from '../metrics/metrics.module.js';

export type PspRoute = 'create_payment' | 'get_payment' | 'get_payment_wait' | 'list_events';

/** What the PSP mock serves, for the polling-vs-webhooks comparison. */
@Injectable()
export class PspMetrics {
  readonly requests: Counter<'route'>;
  readonly longPollsOpen: Gauge;
  readonly deliveries: Counter<'outcome'>;

  constructor(registry: MetricsRegistry) {
    this.requests = new Counter({
      name: 'hookline_psp_requests_total',
      help: 'Requests served by the PSP mock API, by route',
      labelNames: ['route'],
      registers: [registry],
    });
    this.longPollsOpen = new Gauge({
      name: 'hookline_psp_long_polls_open',
      help: 'Long-poll requests (GET /psp/v1/payments/:id?wait=N) the PSP mock holds open right now',
      registers: [registry],
    });
    this.deliveries = new Counter({
      name: 'hookline_psp_webhook_deliveries_total',
      help: 'Webhook delivery attempts of the PSP mock, by outcome (delivered, failed, dropped by chaos)',
      labelNames: ['outcome'],
      registers: [registry],
    });
  }
}
