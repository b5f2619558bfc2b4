import { Controller, Get, HttpCode } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { RequireKey } from '../../http/auth/api-key.guard.js';
import { EVENT_CATALOG } from './event-catalog.js';

export class EventTypeDto {
  @ApiProperty({ example: 'order.paid' })
  type: string;
  @ApiProperty()
  description: string;
  @ApiProperty({ description: 'Only endpoints that name it (or a wildcard over it) receive it' })
  operational: boolean;
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'JSON Schema (2020-12) of the payload' })
  schema: Record<string, unknown>;
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'An example payload' })
  example: Record<string, unknown>;
}

export class EventTypeListDto {
  @ApiProperty({ type: [EventTypeDto] })
  data: EventTypeDto[];
}

/** The catalog of what the shop sends to merchants' endpoints. */
@ApiTags('webhook-endpoints')
@RequireKey(['shop', 'admin'])
@Controller()
export class EventTypesController {
  @Get('event-types')
  @HttpCode(200)
  @ApiOperation({
    summary: 'The event types Hookline sends to webhook endpoints',
    description:
      'Each type with its description, the JSON Schema of its payload and an example; the same catalog is in ' +
      "this document's webhooks section. Endpoints subscribe to these types or to wildcards over them (order.*).",
  })
  @ApiOkResponse({ type: EventTypeListDto })
  list(): EventTypeListDto {
    return { data: EVENT_CATALOG.map((e) => ({ ...e })) };
  }
}
