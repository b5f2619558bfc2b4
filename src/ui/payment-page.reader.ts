import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { isUuid } from '../common/ids.js';
import { Order } from '../orders/order.entity.js';
import { PaymentTimelineEntry } from '../payments/payment-timeline-entry.entity.js';
import { Payment } from '../payments/payment.entity.js';
import { PspEvent } from '../psp-mock/psp-event.entity.js';
import { InboxEntry } from '../webhooks/inbound/inbox-entry.entity.js';

/** Whether the PSP mock runs in this process (APP_ROLE all), so its tables are ours to read. */
export const PSP_IN_PROCESS = Symbol('PSP_IN_PROCESS');

export type PspEventRow = Pick<
  PspEvent,
  | 'id'
  | 'type'
  | 'createdAt'
  | 'callbackUrl'
  | 'deliveryStatus'
  | 'deliveryAttempts'
  | 'deliveredAt'
  | 'lastDeliveryError'
>;

/** Everything the payment page shows, read in one go. */
export interface PaymentPageData {
  payment: Payment;
  order: Order | null;
  timeline: PaymentTimelineEntry[];
  /** Inbox rows named by the timeline, and any other PSP event about this payment. */
  inbox: InboxEntry[];
  /** The PSP's own events for this payment; null when the PSP does not run in this process. */
  pspEvents: PspEventRow[] | null;
}

/**
 * Read-only queries for the operator's payment page. It reads the payment, order,
 * timeline and inbox tables directly rather than through the owning services: the
 * page is a view across modules and changes nothing.
 */
@Injectable()
export class PaymentPageReader {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(PSP_IN_PROCESS) private readonly pspInProcess: boolean,
  ) {}

  async read(paymentId: string): Promise<PaymentPageData | null> {
    if (!isUuid(paymentId)) return null;
    const payment = await this.db.getRepository(Payment).findOneBy({ id: paymentId });
    if (!payment) return null;
    const [order, timeline] = await Promise.all([
      this.db.getRepository(Order).findOneBy({ id: payment.orderId }),
      this.db.getRepository(PaymentTimelineEntry).find({ where: { paymentId }, order: { id: 'ASC' } }),
    ]);
    const inboxIds = timeline
      .map((e) => e.detail.inboxId)
      .filter((id): id is string => typeof id === 'string' && isUuid(id));
    const [inbox, pspEvents] = await Promise.all([
      this.readInbox(inboxIds, payment.pspPaymentId),
      this.readPspEvents(payment.pspPaymentId),
    ]);
    return { payment, order, timeline, inbox, pspEvents };
  }

  private async readInbox(ids: string[], pspPaymentId: string | null): Promise<InboxEntry[]> {
    if (ids.length === 0 && !pspPaymentId) return [];
    const qb = this.db.getRepository(InboxEntry).createQueryBuilder('i');
    if (ids.length > 0) qb.where('i.id IN (:...ids)', { ids });
    // Rows not (yet) on the timeline: received but unprocessed, or ignored by the
    // handler; found through the expression index on the payload's payment id
    // (idx_webhook_inbox_psp_payment).
    if (pspPaymentId) {
      qb.orWhere(`i.source = 'psp' AND i.payload->'data'->>'payment_id' = :psp`, { psp: pspPaymentId });
    }
    return qb.orderBy('i.received_at', 'ASC').limit(200).getMany();
  }

  /**
   * The PSP is a separate system in the design, and the shop never reads its tables.
   * This page is an operator's view across both, so when the PSP mock runs in this
   * process it reads the PSP's delivery record (attempts, delivered_at, last error)
   * directly; otherwise that side is left out.
   */
  private async readPspEvents(pspPaymentId: string | null): Promise<PspEventRow[] | null> {
    if (!this.pspInProcess) return null;
    if (!pspPaymentId) return [];
    return this.db.getRepository(PspEvent).find({
      select: {
        id: true,
        type: true,
        createdAt: true,
        callbackUrl: true,
        deliveryStatus: true,
        deliveryAttempts: true,
        deliveredAt: true,
        lastDeliveryError: true,
      },
      where: { paymentId: pspPaymentId },
      order: { seq: 'ASC' },
      take: 100,
    });
  }
}
