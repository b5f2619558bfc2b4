import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { Payment } from './payment.entity.js';

export const TIMELINE_TYPES = [
  'created',
  'psp_accepted',
  'psp_error',
  'webhook_received',
  'poll_result',
  'resolved',
  'ignored',
  'order_updated',
  /** A webhook event about the payment that failed INBOX_MAX_ATTEMPTS times to apply (replayable by an admin). */
  'webhook_dead',
] as const;
export type TimelineType = (typeof TIMELINE_TYPES)[number];

/** One step in a payment's life, in the order it happened. Append-only. */
@Entity('payment_timeline')
@Index('idx_payment_timeline_payment', ['paymentId', 'id'])
export class PaymentTimelineEntry {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS' })
  id: string;

  @Column({ name: 'payment_id', type: 'uuid' })
  paymentId: string;

  @ManyToOne(() => Payment, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'payment_id' })
  payment?: Payment;

  @Column({ type: 'text' })
  type: TimelineType;

  @Column({ type: 'timestamptz' })
  at: Date;

  @Column({ type: 'jsonb' })
  detail: Record<string, unknown>;
}
