import { Injectable } from '@nestjs/common';
import { DeliveryAttemptReadModel } from '../webhooks/outbound/delivery-attempt-read-model.js';
import { EndpointsService } from '../webhooks/outbound/endpoints.service.js';
import type { EndpointPageView } from './endpoint-page.renderer.js';

/** How many of the latest deliveries the page shows. */
const LATEST = 50;

/**
 * Reads the endpoint page through what the outbound module exports: the endpoint and
 * its latest deliveries from EndpointsService, their attempts from its read model.
 */
@Injectable()
export class EndpointPageReader {
  constructor(
    private readonly endpoints: EndpointsService,
    private readonly attempts: DeliveryAttemptReadModel,
  ) {}

  /** Throws EndpointsService's 404 DomainError when the shop has no such endpoint. */
  async read(id: string): Promise<EndpointPageView> {
    const endpoint = await this.endpoints.get('shop', id);
    const { data } = await this.endpoints.deliveries('shop', id, { limit: LATEST });
    const attempts = await this.attempts.attemptsOf(data.map((d) => d.id));
    return {
      ...endpoint,
      deliveries: data.map((d) => ({
        ...d,
        eventId: d.message?.eventId ?? '',
        eventType: d.message?.eventType ?? '',
        history: attempts.filter((a) => a.deliveryId === d.id),
      })),
    };
  }
}
