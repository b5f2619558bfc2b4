import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  ManyToOne,
  JoinColumn,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';
import { bigintToNumber } from '../common/db/transformers.js';
import { Order } from '../orders/order.entity.js';
import type { PaymentStatus, PaymentStrategy, ResolvedVia } from './payment-status.js';

@Entity('payments')
@Index('idx_payments_order', ['orderId'])
@Index('idx_payments_next_poll', ['nextPollAt'], { where: "status = 'processing' AND next_poll_at IS NOT NULL" })
@Index('idx_payments_one_processing', ['orderId'], { unique: true, where: "status = 'processing'" })
@Index('idx_payments_psp_payment', ['pspPaymentId'], { unique: true, where: 'psp_payment_id IS NOT NULL' })
@Index('uq_payments_idempotency_key', ['idempotencyScope', 'idempotencyKey'], {
  unique: true,
  where: 'idempotency_key IS NOT NULL',
})
export class Payment {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'order_id', type: 'uuid' })
  orderId: string;

  // The relation exists for the foreign key; modules read orders through OrdersService.
  @ManyToOne(() => Order, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'order_id' })
  order?: Order;

  @Column({ type: 'text' })
  status: PaymentStatus;

  @Column({ type: 'text' })
  strategy: PaymentStrategy;

  @Column({ name: 'payment_method', type: 'text' })
  paymentMethod: string;

  @Column({ type: 'bigint', transformer: bigintToNumber })
  amount: number;

  @Column({ type: 'char', length: 3 })
  currency: string;

  @Column({ name: 'psp_payment_id', type: 'text', nullable: true })
  pspPaymentId: string | null;

  @Column({ name: 'resolved_via', type: 'text', nullable: true })
  resolvedVia: ResolvedVia | null;

  @Column({ name: 'failure_reason', type: 'text', nullable: true })
  failureReason: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;

  @Column({ name: 'resolved_at', type: 'timestamptz', nullable: true })
  resolvedAt: Date | null;

  /** When the PSP should next be asked (fallback deadline, next short/long poll); null: never. */
  @Column({ name: 'next_poll_at', type: 'timestamptz', nullable: true })
  nextPollAt: Date | null;

  @Column({ name: 'poll_count', type: 'int', default: 0 })
  pollCount: number;

  /** W3C traceparent of its creation (tracing on): its polls and reconciled events join that trace. */
  @Column({ name: 'trace_context', type: 'text', nullable: true })
  traceContext?: string | null;

  /** Set when polling gave up without a final result: a person should look. */
  @Column({ name: 'attention_reason', type: 'text', nullable: true })
  attentionReason: string | null;

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

  /** Not stored: what the customer must do next (Stripe's 3-D Secure), on the answer that started the payment. */
  nextAction?: { type: string } | null;
}
