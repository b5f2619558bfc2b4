import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

/** `?limit=`: how many items a page holds, 1–100, 20 unless asked. */
export class LimitQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 20 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;
}

/** `?limit=&cursor=` of a keyset-paginated list (see keyset-cursor.ts). */
export class PageQuery extends LimitQuery {
  @ApiPropertyOptional({ description: 'The nextCursor of the previous page, unchanged' })
  @IsOptional()
  @IsString()
  cursor?: string;
}

/** `?after=&limit=` of a feed read forward, oldest first, from an opaque cursor. */
export class AfterQuery extends LimitQuery {
  @ApiPropertyOptional({ description: 'The nextCursor of a previous page, unchanged: the items after it' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  after?: string;
}
