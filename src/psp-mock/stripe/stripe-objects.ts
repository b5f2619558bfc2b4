import type Stripe from 'stripe';
import type { PspPayment } from '../psp-payment.entity.js';

/**
 * The Stripe dialect's objects, typed as the official SDK types them so that `tsc`
 * checks every field against Stripe's own definition (the example objects of
 * test/fixtures/stripe/fixtures.json are the other reference). Everything is built from
 * the mock's one payment row: the dialect is another way to speak to the same PSP.
 */

/** Stripe's test payment methods the dialect understands, and what each does. */
export const STRIPE_TEST_PAYMENT_METHODS = {
  pm_card_visa: 'settles succeeded',
  pm_card_chargeDeclined: 'settles declined (payment_intent.payment_failed)',
  pm_card_threeDSecureRequired: 'requires_action (3-D Secure) until the customer authenticates, then succeeded',
} as const;
export type StripeTestPaymentMethod = keyof typeof STRIPE_TEST_PAYMENT_METHODS;

export const isStripePaymentMethod = (method: string): method is StripeTestPaymentMethod =>
  Object.hasOwn(STRIPE_TEST_PAYMENT_METHODS, method);

/** The API version the dialect renders (the one stripe 23.1, the SDK in package.json, pins). */
export const STRIPE_API_VERSION = '2026-10-28.endive';

/** The event types the dialect sends. */
export const STRIPE_EVENT_TYPES = ['payment_intent.succeeded', 'payment_intent.payment_failed'] as const;
export type StripeEventType = (typeof STRIPE_EVENT_TYPES)[number];

const unix = (d: Date) => Math.floor(d.getTime() / 1000);

/** What Stripe sets on a PaymentIntent whose card was declined. */
function declined(p: PspPayment): Stripe.PaymentIntent.LastPaymentError {
  return {
    type: 'card_error',
    code: 'card_declined',
    decline_code: p.paymentMethod === 'pm_card_chargeDeclined' ? 'generic_decline' : 'do_not_honor',
    message: 'Your card was declined.',
    doc_url: 'https://stripe.com/docs/error-codes/card-declined',
  };
}

/** A PaymentIntent's status from the mock's payment: processing, requires_action, succeeded, or back to requires_payment_method. */
export function paymentIntentStatus(p: PspPayment): Stripe.PaymentIntent.Status {
  if (p.status === 'completed') return 'succeeded';
  if (p.status === 'failed') return 'requires_payment_method';
  return p.paymentMethod === 'pm_card_threeDSecureRequired' ? 'requires_action' : 'processing';
}

export function paymentIntentOf(p: PspPayment): Stripe.PaymentIntent {
  const status = paymentIntentStatus(p);
  return {
    id: p.id,
    object: 'payment_intent',
    allowed_payment_method_types: null,
    amount: p.amount,
    amount_capturable: 0,
    amount_details: { tip: {} },
    amount_received: status === 'succeeded' ? p.amount : 0,
    application: null,
    application_fee_amount: null,
    automatic_payment_methods: null,
    canceled_at: null,
    cancellation_reason: null,
    capture_method: 'automatic',
    client_secret: `${p.id}_secret_${p.id.slice(-12)}`,
    confirmation_method: 'automatic',
    created: unix(p.createdAt),
    currency: p.currency.toLowerCase(),
    customer: null,
    customer_account: null,
    description: null,
    excluded_payment_method_types: null,
    last_payment_error: p.status === 'failed' ? declined(p) : null,
    latest_charge: null,
    livemode: false,
    managed_payments: null,
    metadata: p.metadata,
    next_action:
      status === 'requires_action'
        ? { type: 'use_stripe_sdk', use_stripe_sdk: { type: 'three_d_secure_redirect', stripe_js: '' } }
        : null,
    on_behalf_of: null,
    payment_method: p.paymentMethod,
    payment_method_configuration_details: null,
    payment_method_options: {},
    payment_method_types: ['card'],
    payment_record: null,
    processing: status === 'processing' ? { type: 'card' } : null,
    receipt_email: null,
    review: null,
    setup_future_usage: null,
    shipping: null,
    source: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status,
    transfer_data: null,
    transfer_group: null,
  };
}

/** The event a settlement sends, in Stripe's envelope (`data.object` is the PaymentIntent as it is now). */
export function stripeEventOf(
  id: string,
  p: PspPayment,
  createdAt: Date,
): Stripe.PaymentIntentSucceededEvent | Stripe.PaymentIntentPaymentFailedEvent {
  const base = {
    id,
    object: 'event' as const,
    api_version: STRIPE_API_VERSION,
    created: unix(createdAt),
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
  };
  const object = paymentIntentOf(p);
  return p.status === 'completed'
    ? { ...base, type: 'payment_intent.succeeded', data: { object } }
    : { ...base, type: 'payment_intent.payment_failed', data: { object } };
}

/** Whether a stored event body is in Stripe's envelope (rather than the mock's own `event_id` one). */
export const isStripeEnvelope = (payload: Record<string, unknown>): boolean => payload.object === 'event';
