import {
  STRIPE_HANDLED_EVENTS,
  STRIPE_STATUS_MAP,
  isHandledStripeEvent,
  stripeFailureReason,
} from './stripe-status.js';

describe("Stripe's statuses and events on Hookline's state machine", () => {
  it.each([
    ['succeeded', 'completed'],
    ['processing', 'processing'],
    ['requires_action', 'processing'],
    ['requires_payment_method', 'failed'],
    ['canceled', 'failed'],
    ['payment_intent.succeeded', 'completed'],
    ['payment_intent.payment_failed', 'failed'],
    ['payment_intent.canceled', 'failed'],
    ['payment_intent.processing', 'processing'],
    ['payment_intent.requires_action', 'processing'],
  ] as const)('%s → %s', (stripe, hookline) => {
    expect(STRIPE_STATUS_MAP[stripe]).toBe(hookline);
  });

  it('handles exactly the PaymentIntent events the table maps', () => {
    for (const type of STRIPE_HANDLED_EVENTS) expect(STRIPE_STATUS_MAP[type]).toBeDefined();
    expect(isHandledStripeEvent('charge.succeeded')).toBe(false);
    expect(isHandledStripeEvent('payment_intent.created')).toBe(false);
  });

  it('says why a PaymentIntent failed', () => {
    expect(
      stripeFailureReason({
        status: 'requires_payment_method',
        cancellation_reason: null,
        last_payment_error: { type: 'card_error', code: 'card_declined', decline_code: 'generic_decline' },
      }),
    ).toBe('card_declined: generic_decline');
    expect(
      stripeFailureReason({ status: 'canceled', cancellation_reason: 'abandoned', last_payment_error: null }),
    ).toBe('canceled: abandoned');
    expect(
      stripeFailureReason({ status: 'processing', cancellation_reason: null, last_payment_error: null }),
    ).toBeNull();
  });
});
