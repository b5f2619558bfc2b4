import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { ORDER_STATUSES, type OrderStatus } from '../order-status.js';
import type { Order } from '../order.entity.js';
import { PageQuery } from '../../common/pagination/page.query.js';
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

export class ListOrdersQuery extends PageQuery {
  @ApiPropertyOptional({ enum: ORDER_STATUSES })
  @IsOptional()
  @IsIn(ORDER_STATUSES)
  status?: OrderStatus;
}
