import { Injectable, Optional } from '@nestjs/common';
import { isUuid } from '../common/ids.js';
import { OrderReadModel, type OrderRecord } from '../orders/order-read-model.js';
import { PaymentReadModel, type PaymentRecord, type TimelineEntryRecord } from '../payments/payment-read-model.js';
import { PspEventReadModel, type PspEventRecord } from '../psp-mock/psp-event-read-model.js';
import { InboxReadModel, type InboxEventRecord } from '../webhooks/inbound/inbox-read-model.js';

/** Everything the payment page shows, read in one go. */
export interface PaymentPageData {
  payment: PaymentRecord;
  order: OrderRecord | null;
  timeline: TimelineEntryRecord[];
  /** Inbox rows named by the timeline, and any other PSP event about this payment. */
  inbox: InboxEventRecord[];
  /** The PSP's own events for this payment; null when the PSP does not run in this process. */
  pspEvents: PspEventRecord[] | null;
}

/**
 * Reads the operator's payment page through the read models the payments, orders,
 * inbound and PSP mock modules export: the page is a view across modules and changes
 * nothing.
 */
@Injectable()
export class PaymentPageReader {
  constructor(
    private readonly payments: PaymentReadModel,
    private readonly orders: OrderReadModel,
    private readonly inbox: InboxReadModel,
    /**
     * Present when the PSP mock runs in this process (APP_ROLE all): the PSP is a separate
     * system in the design, so otherwise its side is left out.
     */
    @Optional() private readonly pspEvents?: PspEventReadModel,
  ) {}

  async read(paymentId: string): Promise<PaymentPageData | null> {
    if (!isUuid(paymentId)) return null;
    const payment = await this.payments.payment(paymentId);
    if (!payment) return null;
    const [order, timeline] = await Promise.all([
      this.orders.order(payment.orderId),
      this.payments.timeline(paymentId),
    ]);
    const inboxIds = timeline
      .map((e) => e.detail.inboxId)
      .filter((id): id is string => typeof id === 'string' && isUuid(id));
    const [inbox, pspEvents] = await Promise.all([
      this.inbox.eventsAbout(inboxIds, payment.pspPaymentId),
      this.readPspEvents(payment.pspPaymentId),
    ]);
    return { payment, order, timeline, inbox, pspEvents };
  }

  private async readPspEvents(pspPaymentId: string | null): Promise<PspEventRecord[] | null> {
    if (!this.pspEvents) return null;
    if (!pspPaymentId) return [];
    return this.pspEvents.eventsOfPayment(pspPaymentId);
  }
}
