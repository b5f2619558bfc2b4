import { ApiProblem } from '../common/errors/api-problem.js';
import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ApiAcceptedResponse, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { notFound } from '../common/errors/domain-error.js';
import { ResentDto } from '../webhooks/outbound/dto/endpoint.dto.js';
import { EndpointsService } from '../webhooks/outbound/endpoints.service.js';
import { RequireKey } from '../http/auth/api-key.guard.js';
import { IdempotentOnRow } from '../http/idempotency/idempotent.decorator.js';
import { KeyAlreadyUsed, RowKey, type RequestKey } from '../http/idempotency/idempotency-on-row.interceptor.js';
import { ChaosService } from './chaos.service.js';
import { ChaosSettingsDto, ChaosSettingsView } from './dto/chaos.dto.js';
import { CreatePspPaymentDto, PspPaymentDto } from './dto/psp-payment.dto.js';
import { GetPaymentQuery, ListEventsQuery, PspEventListDto, type PspEventView } from './dto/psp-query.dto.js';
import { PspMockService } from './psp-mock.service.js';

@ApiTags('psp-mock')
@RequireKey('psp')
@Controller('psp/v1')
export class PspMockController {
  constructor(
    private readonly psp: PspMockService,
    private readonly chaos: ChaosService,
    private readonly endpoints: EndpointsService,
  ) {}

  @Post('payments')
  @HttpCode(201)
  @ApiOperation({
    summary: 'Create a payment (PSP mock)',
    description:
      'Answers at once with status processing; settles after a random delay and reports by signed webhook to callback_url.',
  })
  // The payment's INSERT keeps the key (Stripe-like): no claim and answer in idempotency_keys.
  // One INSERT has no in-flight state: a concurrent repeat waits on the unique index, then replays.
  @IdempotentOnRow({ inFlight: false })
  @ApiCreatedResponse({ type: PspPaymentDto })
  @ApiProblem(400, 'VALIDATION.FAILED')
  async create(@Body() dto: CreatePspPaymentDto, @RowKey() key: RequestKey | null): Promise<PspPaymentDto> {
    const { payment, repeatOf } = await this.psp.createPayment(dto, 'pay', key);
    if (repeatOf !== null) throw new KeyAlreadyUsed(repeatOf, PspPaymentDto.from(payment));
    return PspPaymentDto.from(payment);
  }

  @Get('payments/:id')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Get a payment: short poll, or long poll with ?wait=N',
    description:
      'Without wait: the current state at once. With wait=N (1–30): answers as soon as the payment is final, ' +
      'or with the unchanged state after N seconds; works across PSP replicas (woken through Redis pub/sub).',
  })
  @ApiOkResponse({ type: PspPaymentDto })
  @ApiProblem(404, 'PSP.PAYMENT_NOT_FOUND')
  async get(
    @Param('id') id: string,
    @Query() query: GetPaymentQuery,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<PspPaymentDto> {
    let signal: AbortSignal | undefined;
    if (query.wait) {
      // Release the held request as soon as the client goes away.
      const gone = new AbortController();
      reply.raw.once('close', () => gone.abort());
      signal = gone.signal;
    }
    return PspPaymentDto.from(await this.psp.getPayment(id, query.wait, signal));
  }

  @Get('events')
  @HttpCode(200)
  @ApiOperation({
    summary: 'List events in order (for reconciliation)',
    description: 'Cursor pagination: pass the last event_id of a page as `after` to get the next one.',
  })
  @ApiOkResponse({ type: PspEventListDto })
  @ApiProblem(400, 'VALIDATION.FAILED | PSP.INVALID_CURSOR')
  async events(@Query() query: ListEventsQuery): Promise<PspEventListDto> {
    const page = await this.psp.listEvents(query);
    return { object: 'list', data: page.data.map((e) => e.payload as unknown as PspEventView), has_more: page.hasMore };
  }

  @Post('events/:id/resend')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Send an event again',
    description:
      'Every delivery of the event (its payment callback_url and the registered endpoints) is attempted again now, ' +
      'whatever its state; the receiver must treat it as a duplicate.',
  })
  @ApiAcceptedResponse({ type: ResentDto })
  @ApiProblem(404, 'PSP.EVENT_NOT_FOUND')
  async resend(@Param('id') id: string): Promise<ResentDto> {
    const resent = await this.endpoints.resendEvent('psp', id);
    if (resent === null) throw notFound('PSP.EVENT_NOT_FOUND', 'Event', id);
    return { resent };
  }

  @Get('chaos')
  @HttpCode(200)
  @ApiOperation({ summary: 'Current chaos settings' })
  @ApiOkResponse({ type: ChaosSettingsView })
  getChaos(): Promise<ChaosSettingsView> {
    return this.chaos.get();
  }

  @Put('chaos')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Change chaos settings (every field optional)',
    description:
      'Settle delay range of new payments, share of payments declined; for webhook deliveries: shares dropped, ' +
      'duplicated, reordered (held back 1–3 s) and tampered (first attempt wrongly signed), and an extra delay range.',
  })
  @ApiOkResponse({ type: ChaosSettingsView })
  @ApiProblem(400, 'VALIDATION.FAILED | PSP.CHAOS_INVALID')
  putChaos(@Body() dto: ChaosSettingsDto): Promise<ChaosSettingsView> {
    return this.chaos.update(dto);
  }

  @Delete('chaos')
  @HttpCode(200)
  @ApiOperation({ summary: 'Back to the defaults from the environment' })
  @ApiOkResponse({ type: ChaosSettingsView })
  resetChaos(): Promise<ChaosSettingsView> {
    return this.chaos.reset();
  }
}
