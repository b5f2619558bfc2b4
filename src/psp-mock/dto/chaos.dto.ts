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

function RateProperty(description: string): PropertyDecorator {
  return (target, key) => {
    ApiPropertyOptional({ example: 0, minimum: 0, maximum: 1, description })(target, key);
    IsOptional()(target, key);
    IsNumber({ allowNaN: false, allowInfinity: false })(target, key);
    Min(0)(target, key);
    Max(1)(target, key);
  };
}

/** Every field optional on PUT: what is sent replaces, the rest stays. */
export class ChaosSettingsDto {
  @ApiPropertyOptional({ type: DelayRangeDto, description: 'Settlement delay range of new payments, ms' })
  @IsOptional()
  @ValidateNested()
  @Type(() => DelayRangeDto)
  settleDelayMs?: DelayRangeDto;

  @RateProperty('Share of pm_card_ok payments declined anyway')
  declineRate?: number;

  @RateProperty('Share of webhook deliveries dropped (never sent)')
  dropRate?: number;

  @RateProperty(
    'Share of webhook deliveries sent twice: after the first POST is answered 2xx, the same event ' +
      '(same event_id, freshly signed) is POSTed again',
  )
  duplicateRate?: number;

  @ApiPropertyOptional({
    type: DelayRangeDto,
    description: 'Extra delay before the first delivery attempt of each event, drawn from this range, ms',
  })
  @IsOptional()
  @ValidateNested()
  @Type(() => DelayRangeDto)
  deliveryDelayMs?: DelayRangeDto;

  @RateProperty(
    'Share of deliveries held back 1–3 s more (on top of deliveryDelayMs), so that events settled later ' +
      '(other payments) arrive first',
  )
  reorderRate?: number;

  @RateProperty(
    'Share of deliveries whose first attempt carries a wrong signature (one byte of the body changed after ' +
      'signing); the receiver must answer 401, and the retry is signed correctly',
  )
  tamperRate?: number;
}

export interface ChaosSettings {
  settleDelayMs: { min: number; max: number };
  declineRate: number;
  dropRate: number;
  duplicateRate: number;
  deliveryDelayMs: { min: number; max: number };
  reorderRate: number;
  tamperRate: number;
}

export class ChaosSettingsView implements ChaosSettings {
  @ApiProperty({ type: DelayRangeDto })
  settleDelayMs: { min: number; max: number };
  @ApiProperty({ example: 0 })
  declineRate: number;
  @ApiProperty({ example: 0 })
  dropRate: number;
  @ApiProperty({ example: 0 })
  duplicateRate: number;
  @ApiProperty({ type: DelayRangeDto, example: { min: 0, max: 0 } })
  deliveryDelayMs: { min: number; max: number };
  @ApiProperty({ example: 0 })
  reorderRate: number;
  @ApiProperty({ example: 0 })
  tamperRate: number;
}
