import { Controller, Get, HttpCode, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblem } from '../../common/errors/api-problem.js';
import { RequireKey } from '../../http/auth/api-key.guard.js';
import { UndeliveredPageDto, UndeliveredQuery } from './dto/event.dto.js';
import { EventsService } from './events.service.js';

/**
 * An endpoint's events not delivered yet, listed with the endpoint's routes in Swagger: a
 * controller of its own, since a route's tag adds to its controller's (one tag a route).
 */
@ApiTags('webhook-endpoints')
@Controller()
export class UndeliveredEventsController {
  constructor(private readonly events: EventsService) {}

  @Get('webhook-endpoints/:id/undelivered-events')
  @HttpCode(200)
  @RequireKey('admin')
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
}
