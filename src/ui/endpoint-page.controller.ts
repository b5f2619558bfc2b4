import { Controller, Get, Header, NotFoundException, Param, UseFilters, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { DomainError } from '../common/errors/domain-error.js';
import { EndpointPageReader } from './endpoint-page.reader.js';
import { renderEndpointPage } from './endpoint-page.renderer.js';
import { UiAdminGuard } from './ui-auth.guard.js';
import { HTML_CONTENT_TYPE, UiHtmlExceptionFilter } from './ui-html-exception.filter.js';

/**
 * GET /ui/webhook-endpoints/:id — the delivery history of one of the shop's webhook
 * endpoints (admin key): its state and its latest deliveries with every attempt.
 */
@ApiExcludeController()
@UseGuards(UiAdminGuard)
@UseFilters(UiHtmlExceptionFilter)
@Controller('ui')
export class EndpointPageController {
  constructor(private readonly reader: EndpointPageReader) {}

  @Get('webhook-endpoints/:id')
  @Header('content-type', HTML_CONTENT_TYPE)
  @Header('cache-control', 'no-store')
  async page(@Param('id') id: string): Promise<string> {
    try {
      return renderEndpointPage(await this.reader.read(id));
    } catch (err) {
      if (err instanceof DomainError && err.status === 404) throw new NotFoundException(err.message);
      throw err;
    }
  }
}
