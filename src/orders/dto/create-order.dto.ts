import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsISO4217CurrencyCode,
  IsInt,
  IsString,
  Length,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';

export class OrderItemDto {
  @ApiProperty({ example: 'TSHIRT-M-BLK' })
  @IsString()
  @Length(1, 64)
  sku: string;

  @ApiProperty({ example: 'T-shirt, black, M' })
  @IsString()
  @Length(1, 200)
  name: string;

  @ApiProperty({ example: 2, minimum: 1, maximum: 1000 })
  @IsInt()
  @Min(1)
  @Max(1000)
  quantity: number;

  @ApiProperty({ example: 1299, description: 'Price of one unit in minor units (cents)', minimum: 0 })
  @IsInt()
  @Min(0)
  @Max(10_000_000_000)
  unitAmount: number;
}

export class CreateOrderDto {
  @ApiProperty({ example: 'USD', description: 'ISO 4217 currency code' })
  @IsISO4217CurrencyCode()
  currency: string;

  @ApiProperty({ type: [OrderItemDto] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  @Type(() => OrderItemDto)
  items: OrderItemDto[];
}
