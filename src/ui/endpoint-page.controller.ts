import { Controller, Get, Header, NotFoundException, Param, UseFilters, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In } from 'typeorm';
import { DomainError } from '../common/errors/domain-error.js';
import { EndpointsService } from '../webhooks/outbound/endpoints.service.js';
import { WebhookAttempt } from '../webhooks/outbound/outbound.entities.js';
import { renderEndpointPage } from './endpoint-page.renderer.js';
import { UiAdminGuard } from './ui-auth.guard.js';
import { HTML_CONTENT_TYPE, UiHtmlExceptionFilter } from './ui-html-exception.filter.js';

/** How many of the latest deliveries the page shows. */
const LATEST = 50;

/**
 * GET /ui/webhook-endpoints/:id — the delivery history of one of the shop's webhook
 * endpoints (admin key): its state and its latest deliveries with every attempt.
 */
@ApiExcludeController()
@UseGuards(UiAdminGuard)
@UseFilters(UiHtmlExceptionFilter)
@Controller('ui')
export class EndpointPageController {
  constructor(
    private readonly endpoints: EndpointsService,
    @InjectDataSource() private readonly db: DataSource,
  ) {}

  @Get('webhook-endpoints/:id')
  @Header('content-type', HTML_CONTENT_TYPE)
  @Header('cache-control', 'no-store')
  async page(@Param('id') id: string): Promise<string> {
    try {
      const endpoint = await this.endpoints.get('shop', id);
      const { data } = await this.endpoints.deliveries('shop', id, { limit: LATEST });
      const attempts = data.length
        ? await this.db.getRepository(WebhookAttempt).find({
            where: { deliveryId: In(data.map((d) => d.id)) },
            order: { startedAt: 'ASC', id: 'ASC' },
          })
        : [];
      return renderEndpointPage({
        ...endpoint,
        deliveries: data.map((d) => ({
          ...d,
          eventId: d.message?.eventId ?? '',
          eventType: d.message?.eventType ?? '',
          history: attempts.filter((a) => a.deliveryId === d.id),
        })),
      });
    } catch (err) {
      if (err instanceof DomainError && err.status === 404) throw new NotFoundException(err.message);
      throw err;
    }
  }
}
