import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsNumber, IsOptional, Max, Min, ValidateNested } from 'class-validator';

export class DelayRangeDto {
  @ApiProperty({ example: 200, minimum: 0, maximum: 600000 })
  @IsInt()
  @Min(0)
  @Max(600_000)
  min: number;

  @ApiProperty({ example: 1500, minimum: 0, maximum: 600000 })
  @IsInt()
  @Min(0)
  @Max(600_000)
  max: number;
}

/** Every field optional on PUT: what is sent replaces, the rest stays. */
export class ChaosSettingsDto {
  @ApiPropertyOptional({ type: DelayRangeDto, description: 'Settlement delay range of new payments, ms' })
  @IsOptional()
  @ValidateNested()
  @Type(() => DelayRangeDto)
  settleDelayMs?: DelayRangeDto;

  @ApiPropertyOptional({
    example: 0,
    minimum: 0,
    maximum: 1,
    description: 'Share of pm_card_ok payments declined anyway',
  })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(1)
  declineRate?: number;

  @ApiPropertyOptional({
    example: 0,
    minimum: 0,
    maximum: 1,
    description: 'Share of webhook deliveries dropped (never sent)',
  })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(1)
  dropRate?: number;
}

export interface ChaosSettings {
  settleDelayMs: { min: number; max: number };
  declineRate: number;
  dropRate: number;
}

export class ChaosSettingsView implements ChaosSettings {
  @ApiProperty({ type: DelayRangeDto })
  settleDelayMs: { min: number; max: number };
  @ApiProperty({ example: 0 })
  declineRate: number;
  @ApiProperty({ example: 0 })
  dropRate: number;
}
