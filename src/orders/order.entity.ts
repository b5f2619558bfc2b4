import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { bigintToNumber } from '../common/db/transformers.js';
import type { OrderStatus } from './order-status.js';

export interface OrderItem {
  sku: string;
  name: string;
  quantity: number;
  unitAmount: number;
}

@Entity('orders')
@Index('idx_orders_status_created', ['status', 'createdAt', 'id'])
@Index('idx_orders_created', ['createdAt', 'id'])
@Index('uq_orders_idempotency_key', ['idempotencyScope', 'idempotencyKey'], {
  unique: true,
  where: 'idempotency_key IS NOT NULL',
})
export class Order {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text' })
  status: OrderStatus;

  @Column({ type: 'char', length: 3 })
  currency: string;

  @Column({ type: 'bigint', transformer: bigintToNumber })
  amount: number;

  @Column({ type: 'jsonb' })
  items: OrderItem[];

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;

  @Column({ name: 'paid_at', type: 'timestamptz', nullable: true })
  paidAt: Date | null;

  /**
   * The Idempotency-Key it was created with (unique per caller), and the hash of the
   * request a repeat must match: the row is the key's stored answer (decision 0031).
   */
  @Column({ name: 'idempotency_scope', type: 'text', nullable: true, select: false })
  idempotencyScope?: string | null;

  @Column({ name: 'idempotency_key', type: 'text', nullable: true, select: false })
  idempotencyKey?: string | null;

  @Column({ name: 'idempotency_request_hash', type: 'text', nullable: true, select: false })
  idempotencyRequestHash?: string | null;
}
