import { Controller, Get, HttpCode, Query, Req } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { ApiProblem } from '../../common/errors/api-problem.js';
import type { AllConfig } from '../../config/env.js';
import { RequireKey } from '../../http/auth/api-key.guard.js';
import { callerIdentities } from '../../http/auth/caller-identity.config.js';
import type { CallerIdentityResolver } from '../../http/auth/caller-identity.js';
import { EventPageDto, EventsQuery } from './dto/event.dto.js';
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

  /** The guard let a shop or admin key through; an admin key (even one also in API_KEYS) sees everything. */
  private audienceOf(req: FastifyRequest): EventsAudience {
    const caller = this.identities.resolve(req);
    return caller.kind === 'key' && caller.realms.includes('admin') ? 'admin' : 'shop';
  }
}
