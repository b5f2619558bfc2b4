import { IdempotencyKey } from '../http/idempotency/idempotency-key.entity.js';
import { Order } from '../orders/order.entity.js';
import { Payment } from '../payments/payment.entity.js';
import { ReconciliationCursor } from '../payments/reconciliation-cursor.entity.js';
import { PaymentTimelineEntry } from '../payments/payment-timeline-entry.entity.js';
import { PspEvent } from '../psp-mock/psp-event.entity.js';
import { PspPayment } from '../psp-mock/psp-payment.entity.js';
import { PspSetting } from '../psp-mock/psp-setting.entity.js';
import { InboxEntry } from '../webhooks/inbound/inbox-entry.entity.js';
import { OUTBOUND_ENTITIES } from '../webhooks/outbound/outbound.entities.js';

/** Every entity, listed once for the app and the migration CLI. */
export const ENTITIES = [
  IdempotencyKey,
  Order,
  Payment,
  PaymentTimelineEntry,
  InboxEntry,
  PspPayment,
  PspEvent,
  PspSetting,
  ReconciliationCursor,
  ...OUTBOUND_ENTITIES,
];
