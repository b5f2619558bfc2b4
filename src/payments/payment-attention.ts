import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { prefixedId } from '../common/ids.js';
import { WebhookOutbox } from '../webhooks/outbound/webhook-outbox.js';

export interface AttentionNotice {
  paymentId: string;
  /** Unknown when only the PSP event named the payment. */
  orderId?: string;
  reason: 'polling_gave_up' | 'webhook_dead';
  detail: string;
}

/**
 * Publishes `payment.attention_required` to the merchants' endpoints that subscribe to it:
 * a payment a person should look at (polling gave up without a final result, or a PSP
 * webhook about it could not be applied). In the transaction that records why.
 */
@Injectable()
export class PaymentAttention {
  constructor(private readonly outbox: WebhookOutbox) {}

  async publish(manager: EntityManager, notice: AttentionNotice): Promise<void> {
    const eventId = prefixedId('evt');
    await this.outbox.publish(manager, {
      owner: 'shop',
      eventId,
      eventType: 'payment.attention_required',
      payload: {
        event_id: eventId,
        type: 'payment.attention_required',
        created_at: new Date().toISOString(),
        data: {
          payment_id: notice.paymentId,
          ...(notice.orderId ? { order_id: notice.orderId } : {}),
          reason: notice.reason,
          detail: notice.detail,
        },
      },
    });
  }
}
