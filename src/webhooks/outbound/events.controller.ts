import { Controller, Get, HttpCode, Param, Query, Req } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { ApiProblem } from '../../common/errors/api-problem.js';
import type { AllConfig } from '../../config/env.js';
import { RequireKey } from '../../http/auth/api-key.guard.js';
import { callerIdentities } from '../../http/auth/caller-identity.config.js';
import type { CallerIdentityResolver } from '../../http/auth/caller-identity.js';
import { EventPageDto, EventsQuery, UndeliveredPageDto, UndeliveredQuery } from './dto/event.dto.js';
import { EventsService, type EventsAudience } from './events.service.js';

/** The events Hookline published, for merchants to catch up on webhooks they missed. */
@ApiTags('events')
@Controller()
export class EventsController {
  private readonly identities: CallerIdentityResolver;

  constructor(
    private readonly events: EventsService,
    config: ConfigService<AllConfig, true>,
  ) {
    this.identities = callerIdentities(config);
  }

  @Get('events')
  @HttpCode(200)
  @RequireKey(['shop', 'admin'])
  @ApiOperation({
    summary: 'The events Hookline published, oldest first after a cursor',
    description:
      'The fallback poll for webhooks: a merchant keeps nextCursor and asks again with after=<it> to get what it ' +
      'missed, each event exactly the body of its webhook (deduplicate on event_id = webhook-id). A shop key sees ' +
      'the business events (order.*), an admin key every event. Kept as long as the messages (WEBHOOK_RETENTION). ' +
      'An event is listed once every database transaction that began before it has ended, so a cursor never ' +
      'passes one that shows up later.',
  })
  @ApiOkResponse({ type: EventPageDto })
  @ApiProblem(400, 'VALIDATION.FAILED | EVENT.INVALID_CURSOR | EVENT.UNKNOWN_TYPE (knownTypes in the body)')
  list(@Query() q: EventsQuery, @Req() req: FastifyRequest): Promise<EventPageDto> {
    return this.events.list(this.audienceOf(req), q);
  }

  @Get('webhook-endpoints/:id/undelivered-events')
  @HttpCode(200)
  @RequireKey('admin')
  @ApiTags('webhook-endpoints')
  @ApiOperation({
    summary: 'The events not yet delivered successfully to this endpoint, oldest first',
    description:
      "Pending (still retried) or failed (given up) deliveries, with each event's body (Stripe's delivery_success=false).",
  })
  @ApiOkResponse({ type: UndeliveredPageDto })
  @ApiProblem(400, 'VALIDATION.FAILED | EVENT.INVALID_CURSOR')
  @ApiProblem(404, 'WEBHOOK_ENDPOINT.NOT_FOUND')
  undelivered(@Param('id') id: string, @Query() q: UndeliveredQuery): Promise<UndeliveredPageDto> {
    return this.events.undelivered(id, q);
  }

  /** The guard let a shop or admin key through; an admin key (even one also in API_KEYS) sees everything. */
  private audienceOf(req: FastifyRequest): EventsAudience {
    const caller = this.identities.resolve(req);
    return caller.kind === 'key' && caller.realms.includes('admin') ? 'admin' : 'shop';
  }
}
