import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Order, type OrderItem } from './order.entity.js';
import type { OrderStatus } from './order-status.js';

export type { OrderItem };

/** An order as the operator's pages show it. */
export interface OrderRecord {
  id: string;
  status: OrderStatus;
  items: OrderItem[];
  paidAt: Date | null;
}

/** Read-only queries other modules may use to show an order; changes nothing. */
@Injectable()
export class OrderReadModel {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  order(id: string): Promise<OrderRecord | null> {
    return this.db.getRepository(Order).findOneBy({ id });
  }
}
