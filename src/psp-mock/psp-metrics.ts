import { Injectable } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { MetricsRegistry } from '../metrics/metrics.module.js';

export type PspRoute = 'create_payment' | 'get_payment' | 'get_payment_wait' | 'list_events';
/**
 * delivered / failed: an attempt's answer; the rest is what chaos did: dropped (never
 * sent), duplicated (a second POST of a delivered event), tampered (an attempt sent
 * with a wrong signature and rejected; tampered_accepted if the receiver took it),
 * delayed (first attempt held back by deliveryDelayMs), reordered (held back 1–3 s more).
 */
export type DeliveryOutcome =
  'delivered' | 'failed' | 'dropped' | 'duplicated' | 'tampered' | 'tampered_accepted' | 'delayed' | 'reordered';

/** What the PSP mock serves, for the polling-vs-webhooks comparison. */
@Injectable()
export class PspMetrics {
  readonly requests: Counter<'route'>;
  readonly longPollsOpen: Gauge;
  readonly deliveries: Counter<'outcome' | 'endpoint'>;

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
      help: 'Webhook delivery attempts of the PSP mock, by outcome (delivered, failed; chaos: dropped, duplicated, tampered, tampered_accepted, delayed, reordered) and endpoint (origin of the callback URL)',
      labelNames: ['outcome', 'endpoint'],
      registers: [registry],
    });
  }
}

/** The endpoint label of a callback URL: its origin only, never a path, query or credentials. */
export function endpointLabel(callbackUrl: string | null): string {
  try {
    return new URL(callbackUrl ?? '').origin;
  } catch {
    return 'invalid';
  }
}
