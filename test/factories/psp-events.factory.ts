import { randomBytes } from 'node:crypto';
import type { SignedRequest } from '../utils/sign-webhook.js';
import type { ProcessingPayment } from './payments.factory.js';

export interface PspEventFields {
  eventId?: string;
  type?: string;
  pspPaymentId: string;
  paymentId?: string;
  orderId?: string;
  amount: number;
  currency?: string;
  status?: string;
}

/** The body of a PSP event as the PSP sends it to POST /webhooks/psp (sign it with signWebhook). */
export function pspEvent(over: PspEventFields) {
  const type = over.type ?? 'payment.completed';
  return {
    event_id: over.eventId ?? `evt_${randomBytes(12).toString('hex')}`,
    type,
    created_at: new Date().toISOString(),
    data: {
      payment_id: over.pspPaymentId,
      status: over.status ?? type.split('.')[1],
      amount: over.amount,
      currency: over.currency ?? 'USD',
      metadata: {
        ...(over.orderId ? { orderId: over.orderId } : {}),
        ...(over.paymentId ? { paymentId: over.paymentId } : {}),
      },
    },
  };
}

/** The PSP's event about `p` (by default: it completed), with its ids and amount. */
export function pspEventFor(p: ProcessingPayment, over: Partial<PspEventFields> = {}) {
  return pspEvent({
    pspPaymentId: p.payment.pspPaymentId,
    paymentId: p.payment.id,
    orderId: p.order.id,
    amount: p.payment.amount,
    ...over,
  });
}

/** Posts a signed PSP event to the shop's receiver, as the PSP (or an attacker) would. */
export function postPspEvent(base: string, signed: SignedRequest): Promise<Response> {
  return fetch(`${base}/webhooks/psp`, { method: 'POST', headers: signed.headers, body: signed.body });
}
