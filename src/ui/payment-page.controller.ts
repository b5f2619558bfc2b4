import { Controller, Get, Header, NotFoundException, Param, UseFilters, UseGuards } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiExcludeController } from '@nestjs/swagger';
import type { AllConfig } from '../config/env.js';
import { PaymentPageReader } from './payment-page.reader.js';
import { renderPaymentPage } from './payment-page.renderer.js';
import { buildPaymentView } from './payment-timeline.view.js';
import { UiAuthGuard } from './ui-auth.guard.js';
import { paymentTraceLinks } from './trace-link.js';
import { HTML_CONTENT_TYPE, UiHtmlExceptionFilter } from './ui-html-exception.filter.js';

/**
 * GET /ui/payments/:id — an operator's page of one payment: its header and a timeline
 * of every step (PSP call, webhook deliveries and their checks, polls, resolution,
 * order update) with millisecond offsets. Server-rendered HTML; not part of the API
 * document.
 */
@ApiExcludeController()
@UseGuards(UiAuthGuard)
@UseFilters(UiHtmlExceptionFilter)
@Controller('ui')
export class PaymentPageController {
  private readonly traceUiUrl: string | undefined;

  constructor(
    private readonly reader: PaymentPageReader,
    config: ConfigService<AllConfig, true>,
  ) {
    this.traceUiUrl = config.get('TRACE_UI_URL', { infer: true });
  }

  @Get('payments/:id')
  @Header('content-type', HTML_CONTENT_TYPE)
  @Header('cache-control', 'no-store')
  async page(@Param('id') id: string): Promise<string> {
    const data = await this.reader.read(id);
    if (!data) throw new NotFoundException(`No payment with id ${id}.`);
    return renderPaymentPage(buildPaymentView(data), paymentTraceLinks(this.traceUiUrl, data.timeline, data.inbox));
  }
}
