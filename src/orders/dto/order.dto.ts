import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsOptional, IsString, Max, Min } from 'class-validator';
import { Type } from 'class-transformer';
import { ORDER_STATUSES, type OrderStatus } from '../order-status.js';
import type { Order } from '../order.entity.js';
import { OrderItemDto } from './create-order.dto.js';

export class OrderDto {
  @ApiProperty({ format: 'uuid' })
  id: string;
  @ApiProperty({ enum: ORDER_STATUSES, example: 'pending_payment' })
  status: OrderStatus;
  @ApiProperty({ example: 'USD' })
  currency: string;
  @ApiProperty({ example: 2598, description: 'Sum of quantity × unitAmount, in minor units' })
  amount: number;
  @ApiProperty({ type: [OrderItemDto] })
  items: OrderItemDto[];
  @ApiProperty()
  createdAt: string;
  @ApiProperty()
  updatedAt: string;
  @ApiPropertyOptional({ nullable: true, type: String })
  paidAt: string | null;

  static from(order: Order): OrderDto {
    return {
      id: order.id,
      status: order.status,
      currency: order.currency,
      amount: order.amount,
      items: order.items,
      createdAt: order.createdAt.toISOString(),
      updatedAt: order.updatedAt.toISOString(),
      paidAt: order.paidAt?.toISOString() ?? null,
    };
  }
}

export class OrderPageDto {
  @ApiProperty({ type: [OrderDto] })
  data: OrderDto[];
  @ApiPropertyOptional({
    nullable: true,
    type: String,
    description: 'Pass as `cursor` to get the next page; null on the last page',
  })
  nextCursor: string | null;
}

export class ListOrdersQuery {
  @ApiPropertyOptional({ enum: ORDER_STATUSES })
  @IsOptional()
  @IsIn(ORDER_STATUSES)
  status?: OrderStatus;

  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 20 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  @ApiPropertyOptional({ description: 'Opaque cursor from a previous page' })
  @IsOptional()
  @IsString()
  cursor?: string;
}
