import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { PaymentStatus, PaymentStrategy, ResolvedVia } from './payment-status.js';
import { PaymentTimelineEntry, type TimelineType } from './payment-timeline-entry.entity.js';
import { Payment } from './payment.entity.js';

/** A payment as the operator's pages show it. */
export interface PaymentRecord {
  id: string;
  orderId: string;
  status: PaymentStatus;
  strategy: PaymentStrategy;
  paymentMethod: string;
  /** Minor units. */
  amount: number;
  currency: string;
  pspPaymentId: string | null;
  resolvedVia: ResolvedVia | null;
  failureReason: string | null;
  attentionReason: string | null;
  createdAt: Date;
  resolvedAt: Date | null;
  pollCount: number;
}

/** One step the payments module recorded on a payment's timeline. */
export interface TimelineEntryRecord {
  type: TimelineType;
  at: Date;
  /** What the step carries (event and inbox ids, latencies, statuses…), by type. */
  detail: Record<string, unknown>;
}

/** Read-only queries other modules may use to show a payment; changes nothing. */
@Injectable()
export class PaymentReadModel {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  payment(id: string): Promise<PaymentRecord | null> {
    return this.db.getRepository(Payment).findOneBy({ id });
  }

  /** The payment's timeline, in the order it was written. */
  timeline(paymentId: string): Promise<TimelineEntryRecord[]> {
    return this.db.getRepository(PaymentTimelineEntry).find({ where: { paymentId }, order: { id: 'ASC' } });
  }
}
