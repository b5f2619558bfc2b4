import { Controller, Post, Req, Res } from '@nestjs/common';
import { SkipThrottle } from '@nestjs/throttler';
import { ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { InboundEventDto, WebhookAckDto, parseInboundEvent } from './inbound-event.dto.js';
import { parseStripeEvent } from './stripe-event.js';
import { InboundMetrics } from './inbound-metrics.js';
import { InboxWriter, unstorableEvent } from './inbox-writer.js';
import { jsonbTextProblem } from '../../common/validation/jsonb-text.js';
import { DomainError } from '../../common/errors/domain-error.js';
import { ApiProblem } from '../../common/errors/api-problem.js';
import { WebhookEndpoint, type WebhookRequest } from './webhook-signature.guard.js';
import { activeSpan, traceparentOf } from '../../telemetry/trace-context.js';

/** What a 429 for a full backlog asks the sender to wait. */
export const BACKLOG_RETRY_AFTER_S = 5;

@ApiTags('webhooks (inbound)')
@SkipThrottle()
@Controller('webhooks')
export class WebhookReceiverController {
  constructor(
    private readonly inbox: InboxWriter,
    private readonly metrics: InboundMetrics,
  ) {}

  @Post('psp')
  @WebhookEndpoint('psp')
  @ApiOperation({
    summary: 'Receive a PSP event',
    description:
      'Verifies the Standard Webhooks signature over the raw body, stores the event in the inbox ' +
      '(unique per event_id) and queues it. Answers before the event is applied.',
  })
  @ApiBody({ type: InboundEventDto })
  @ApiResponse({ status: 202, description: 'Stored and queued', type: WebhookAckDto })
  @ApiResponse({
    status: 200,
    description: 'Already received before (duplicate); nothing changed',
    type: WebhookAckDto,
  })
  @ApiProblem(
    422,
    "WEBHOOK.UNSTORABLE_EVENT — valid JSON that PostgreSQL cannot store as jsonb (a number outside numeric's range, a byte order mark); nothing stored",
  )
  @ApiProblem(
    429,
    'WEBHOOK.BACKLOG_FULL — the inbox backlog is over INBOX_BACKLOG_LIMIT; nothing stored; retry after Retry-After',
  )
  @ApiProblem(503, 'SERVICE.UNAVAILABLE — PostgreSQL is unreachable; nothing stored; retry after Retry-After')
  async receivePsp(
    @Req() req: WebhookRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<WebhookAckDto> {
    // Validated here rather than by the global pipe: unknown fields are allowed and
    // kept, because the sender's event format may grow.
    return this.store(req, reply, this.parse(req, parseInboundEvent));
  }

  @Post('stripe')
  @WebhookEndpoint('stripe')
  @ApiOperation({
    summary: 'Receive a Stripe event',
    description:
      "Stripe's own webhook endpoint (register PUBLIC_BASE_URL/webhooks/stripe in Stripe's dashboard): verifies " +
      "Stripe-Signature with STRIPE_WEBHOOK_SECRET over the raw body, stores the event in the inbox (unique per Stripe's " +
      'event id) and queues it; the same inbox, queue and processor as /webhooks/psp. 404 WEBHOOK.SOURCE_NOT_CONFIGURED ' +
      'while STRIPE_WEBHOOK_SECRET is unset.',
  })
  @ApiBody({
    schema: {
      type: 'object',
      required: ['id', 'object', 'type', 'data'],
      properties: {
        id: { type: 'string', example: 'evt_1Pgc76B7WZ01zgkWwyRHS12y' },
        object: { type: 'string', enum: ['event'] },
        type: { type: 'string', example: 'payment_intent.succeeded' },
        created: { type: 'integer', example: 1764931200 },
        api_version: { type: 'string', nullable: true },
        livemode: { type: 'boolean' },
        data: { type: 'object', properties: { object: { type: 'object', description: 'A PaymentIntent' } } },
      },
    },
  })
  @ApiResponse({ status: 202, description: 'Stored and queued', type: WebhookAckDto })
  @ApiResponse({
    status: 200,
    description: 'Already received before (duplicate); nothing changed',
    type: WebhookAckDto,
  })
  @ApiProblem(404, 'WEBHOOK.SOURCE_NOT_CONFIGURED — STRIPE_WEBHOOK_SECRET is not set')
  @ApiProblem(422, 'WEBHOOK.UNSTORABLE_EVENT — as for /webhooks/psp')
  @ApiProblem(429, 'WEBHOOK.BACKLOG_FULL — as for /webhooks/psp')
  @ApiProblem(503, 'SERVICE.UNAVAILABLE — as for /webhooks/psp')
  async receiveStripe(
    @Req() req: WebhookRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<WebhookAckDto> {
    return this.store(req, reply, this.parse(req, parseStripeEvent));
  }

  /** Stores a verified, parsed event in the inbox and answers 202, or 200 for a duplicate. */
  private async store(req: WebhookRequest, reply: FastifyReply, event: InboundEventDto): Promise<WebhookAckDto> {
    this.checkStorable(req);
    // With tracing on, the request's server span (continuing the sender's traceparent) is
    // stored with the event, so that applying it joins the same trace.
    const span = activeSpan();
    const traceparent = traceparentOf(span);
    span?.setAttributes({
      'hookline.webhook.source': req.webhook!.source,
      'hookline.webhook.event_id': event.event_id,
    });
    const result = await this.inbox.receive(req.webhook!, event, req.rawBody, traceparent).catch((err: unknown) => {
      if (err instanceof DomainError && err.code === 'WEBHOOK.UNSTORABLE_EVENT') {
        this.metrics.received.inc({ source: req.webhook!.source, outcome: 'rejected', reason: 'unstorable' });
      }
      throw err;
    });
    if (result.status === 'backlog-full') {
      this.metrics.received.inc({ source: req.webhook!.source, outcome: 'rejected', reason: 'backlog' });
      throw new DomainError(
        'WEBHOOK.BACKLOG_FULL',
        429,
        'Too many unprocessed events',
        'The inbox backlog is over its limit; retry after the Retry-After delay. Nothing was stored.',
        {},
        { 'retry-after': String(BACKLOG_RETRY_AFTER_S) },
      );
    }
    this.metrics.received.inc({ source: req.webhook!.source, outcome: result.status });
    span?.setAttributes({
      'hookline.webhook.duplicate': result.status === 'duplicate',
      ...(result.status === 'accepted' && { 'hookline.inbox_id': result.inboxId }),
    });
    if (result.status === 'duplicate') void reply.status(200);
    return { status: result.status, eventId: event.event_id };
  }

  /** What JSON.parse accepted but jsonb would refuse is a 422 before anything is stored, not a 500 the sender retries. */
  private checkStorable(req: WebhookRequest): void {
    const problem = req.rawBody ? jsonbTextProblem(req.rawBody.toString('utf8')) : null;
    if (!problem) return;
    this.metrics.received.inc({ source: req.webhook!.source, outcome: 'rejected', reason: 'unstorable' });
    throw unstorableEvent(problem);
  }

  private parse(req: WebhookRequest, parse: (body: unknown) => InboundEventDto): InboundEventDto {
    try {
      return parse(req.body);
    } catch (err) {
      this.metrics.received.inc({ source: req.webhook!.source, outcome: 'rejected', reason: 'malformed' });
      throw err;
    }
  }
}
