import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsDateString, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { AfterQuery } from '../../../common/pagination/page.query.js';

export class EventsQuery extends AfterQuery {
  @ApiPropertyOptional({
    example: 'order.paid,order.payment_failed',
    description: 'Comma-separated event types or wildcards (order.*); default: every type the key may see',
  })
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  @Matches(/^[a-z0-9_.*]+(,[a-z0-9_.*]+)*$/, { message: 'types must be comma-separated event types' })
  types?: string;

  @ApiPropertyOptional({ example: '2026-12-01T00:00:00Z', description: 'Only events created at or after this time' })
  @IsOptional()
  @IsDateString({ strict: true })
  since?: string;

  @ApiPropertyOptional({ example: '2026-12-02T00:00:00Z', description: 'Only events created before this time' })
  @IsOptional()
  @IsDateString({ strict: true })
  until?: string;
}

export class EventPageDto {
  @ApiProperty({
    type: 'array',
    items: { type: 'object', additionalProperties: true },
    description:
      'The events, oldest first, each exactly the body its webhook carries (event_id, type, created_at, data; ' +
      'schemas in GET /event-types)',
  })
  data: Record<string, unknown>[];
  @ApiProperty({
    nullable: true,
    type: String,
    description:
      'Where the next call starts (pass it as after): the last event of this page, or the after given when ' +
      'the page is empty. Keep it to catch up later.',
  })
  nextCursor: string | null;
  @ApiProperty({ description: 'More events follow right now' })
  hasMore: boolean;
}

export class UndeliveredQuery extends AfterQuery {}

export class UndeliveredEventDto {
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'The webhook body' })
  event: Record<string, unknown>;
  @ApiProperty({ format: 'uuid' })
  deliveryId: string;
  @ApiProperty({
    enum: ['pending', 'failed'],
    description: 'pending: still retried; failed: given up (recover or retry)',
  })
  status: 'pending' | 'failed';
  @ApiProperty()
  attempts: number;
  @ApiProperty({ nullable: true, type: String })
  lastError: string | null;
}

export class UndeliveredPageDto {
  @ApiProperty({ type: [UndeliveredEventDto] })
  data: UndeliveredEventDto[];
  @ApiProperty({ nullable: true, type: String, description: 'Pass as after for the next page' })
  nextCursor: string | null;
  @ApiProperty()
  hasMore: boolean;
}
