import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigintToNumber } from '../common/db/transformers.js';

export const PSP_PAYMENT_STATUSES = ['processing', 'completed', 'failed'] as const;
export type PspPaymentStatus = (typeof PSP_PAYMENT_STATUSES)[number];
/** snapshot: events carry the payment's state; thin: ids only, the receiver fetches the state. */
export const PSP_EVENT_FORMATS = ['snapshot', 'thin'] as const;
export type PspEventFormat = (typeof PSP_EVENT_FORMATS)[number];

/** The PSP mock's own record of a payment (its own table: the PSP is a separate system). */
@Entity('psp_payments')
@Index('uq_psp_payments_idempotency_key', ['idempotencyScope', 'idempotencyKey'], {
  unique: true,
  where: 'idempotency_key IS NOT NULL',
})
export class PspPayment {
  @PrimaryColumn({ type: 'text' })
  id: string;

  @Column({ type: 'bigint', transformer: bigintToNumber })
  amount: number;

  @Column({ type: 'char', length: 3 })
  currency: string;

  @Column({ type: 'text' })
  status: PspPaymentStatus;

  @Column({ name: 'payment_method', type: 'text' })
  paymentMethod: string;

  @Column({ name: 'callback_url', type: 'text', nullable: true })
  callbackUrl: string | null;

  @Column({ type: 'jsonb' })
  metadata: Record<string, string>;

  @Column({ name: 'event_format', type: 'text', default: 'snapshot' })
  eventFormat: PspEventFormat;

  /** W3C traceparent of the request that created it (null with tracing off): its settlement links to that trace. */
  @Column({ name: 'trace_context', type: 'text', nullable: true })
  traceContext?: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'settled_at', type: 'timestamptz', nullable: true })
  settledAt: Date | null;

  /**
   * The Idempotency-Key it was created with (unique per caller), and the hash of the
   * request a repeat must match: the payment is the key's stored answer.
   */
  @Column({ name: 'idempotency_scope', type: 'text', nullable: true, select: false })
  idempotencyScope?: string | null;

  @Column({ name: 'idempotency_key', type: 'text', nullable: true, select: false })
  idempotencyKey?: string | null;

  @Column({ name: 'idempotency_request_hash', type: 'text', nullable: true, select: false })
  idempotencyRequestHash?: string | null;

  /** Every API request about this payment (create, polls): what polling costs the PSP. */
  @Column({ name: 'requests_served', type: 'int', default: 0 })
  requestsServed: number;
}
