import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsInt,
  IsString,
  Length,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { IsCurrencyCode } from '../../common/validation/currency-code.js';
import { IsSafeText } from '../../common/validation/safe-text.js';

export class OrderItemDto {
  @ApiProperty({
    example: 'TSHIRT-M-BLK',
    minLength: 1,
    maxLength: 64,
    description: 'One line of well-formed Unicode: no control or bidirectional-override characters',
  })
  @IsString()
  @Length(1, 64)
  @IsSafeText()
  sku: string;

  @ApiProperty({
    example: 'T-shirt, black, M',
    minLength: 1,
    maxLength: 200,
    description:
      'One line of well-formed Unicode with a visible character: no control or bidirectional-override characters',
  })
  @IsString()
  @Length(1, 200)
  @IsSafeText()
  name: string;

  @ApiProperty({ example: 2, minimum: 1, maximum: 1000 })
  @IsInt()
  @Min(1)
  @Max(1000)
  quantity: number;

  @ApiProperty({
    example: 1299,
    description: 'Price of one unit in minor units (cents)',
    minimum: 0,
    maximum: 10_000_000_000,
  })
  @IsInt()
  @Min(0)
  @Max(10_000_000_000)
  unitAmount: number;
}

export class CreateOrderDto {
  @ApiProperty({ example: 'USD', pattern: '^[A-Z]{3}$', description: 'ISO 4217 currency code, in capitals' })
  @IsCurrencyCode()
  currency: string;

  @ApiProperty({ type: [OrderItemDto], minItems: 1, maxItems: 100 })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  @Type(() => OrderItemDto)
  items: OrderItemDto[];
}
