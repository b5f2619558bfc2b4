import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

import type { StripeEventType } from './stripe/stripe-objects.js';

export const PSP_EVENT_TYPES = ['payment.processing', 'payment.completed', 'payment.failed'] as const;
/** The mock's own event types, and those of its Stripe dialect (listed at /v1/events only). */
export type PspEventType = (typeof PSP_EVENT_TYPES)[number] | StripeEventType;

export const DELIVERY_STATUSES = ['none', 'pending', 'delivered', 'failed', 'dropped'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/**
 * A PSP event and, in the same row, the state of its delivery to the payment's
 * callback URL (the outbox: written in the settlement's transaction, sent after commit).
 */
@Entity('psp_events')
@Index('idx_psp_events_payment', ['paymentId'])
@Index('idx_psp_events_pending_delivery', ['createdAt'], { where: "delivery_status = 'pending'" })
export class PspEvent {
  @PrimaryColumn({ type: 'text' })
  id: string;

  /** Gives the events API a stable order. */
  @Column({ type: 'bigint', generated: 'increment', unique: true })
  seq: string;

  @Column({ type: 'text' })
  type: PspEventType;

  @Column({ name: 'payment_id', type: 'text' })
  paymentId: string;

  /** The exact event body that is signed and delivered. */
  @Column({ type: 'jsonb' })
  payload: Record<string, unknown>;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'callback_url', type: 'text', nullable: true })
  callbackUrl: string | null;

  @Column({ name: 'delivery_status', type: 'text' })
  deliveryStatus: DeliveryStatus;

  @Column({ name: 'delivery_attempts', type: 'int', default: 0 })
  deliveryAttempts: number;

  @Column({ name: 'delivered_at', type: 'timestamptz', nullable: true })
  deliveredAt: Date | null;

  @Column({ name: 'last_delivery_error', type: 'text', nullable: true })
  lastDeliveryError: string | null;
}
