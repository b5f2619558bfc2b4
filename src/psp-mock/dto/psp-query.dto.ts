import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { prefixedIdPattern } from '../../common/ids.js';
import { PSP_EVENT_TYPES } from '../psp-event.entity.js';

export class GetPaymentQuery {
  @ApiPropertyOptional({
    minimum: 1,
    maximum: 30,
    description: 'Long poll: hold the request until the payment is final, at most this many seconds',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(30)
  wait?: number;
}

export class ListEventsQuery {
  @ApiPropertyOptional({ description: "Return events after this event id (the previous page's last)" })
  @IsOptional()
  @IsString()
  @Matches(prefixedIdPattern('evt'), { message: 'after must be an event id (evt_…)' })
  after?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  @ApiPropertyOptional({ enum: PSP_EVENT_TYPES })
  @IsOptional()
  @IsIn(PSP_EVENT_TYPES)
  type?: string;
}

export class PspEventView {
  @ApiProperty({ example: 'evt_3a9f0c6b2d1e4f5a6b7c8d9e' })
  event_id: string;
  @ApiProperty({ enum: PSP_EVENT_TYPES })
  type: string;
  @ApiProperty()
  created_at: string;
  @ApiProperty({ type: 'object', additionalProperties: true })
  data: Record<string, unknown>;
}

export class PspEventListDto {
  @ApiProperty({ example: 'list' })
  object: 'list';
  @ApiProperty({ type: [PspEventView] })
  data: PspEventView[];
  @ApiProperty({ description: 'More events follow: ask again with after = the last event_id' })
  has_more: boolean;
}
