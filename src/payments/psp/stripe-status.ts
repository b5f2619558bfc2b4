import type Stripe from 'stripe';
import type { PspPaymentStatus } from './psp.client.js';

/**
 * How Stripe's PaymentIntent statuses and events map onto Hookline's PSP statuses: the one
 * table the adapter (polls) and the webhook handler (events) read. The shop confirms
 * every PaymentIntent at creation, so `requires_payment_method` means the attempt failed.
 * `requires_action` (3-D Secure) keeps the payment processing; its next action is told
 * to the client. Stripe does not promise order: a late `processing` after `succeeded` is
 * ignored by the payment state machine with a reason, as for the mock.
 */
export const STRIPE_STATUS_MAP: Readonly<Record<Stripe.PaymentIntent.Status | StripeHandledEvent, PspPaymentStatus>> = {
  // PaymentIntent.status (what a poll reads)
  succeeded: 'completed',
  processing: 'processing',
  requires_action: 'processing',
  requires_confirmation: 'processing',
  requires_capture: 'processing',
  requires_payment_method: 'failed',
  canceled: 'failed',
  // Event types (what a webhook or reconciliation brings)
  'payment_intent.succeeded': 'completed',
  'payment_intent.processing': 'processing',
  'payment_intent.requires_action': 'processing',
  'payment_intent.payment_failed': 'failed',
  'payment_intent.canceled': 'failed',
};

export const STRIPE_HANDLED_EVENTS = [
  'payment_intent.succeeded',
  'payment_intent.processing',
  'payment_intent.requires_action',
  'payment_intent.payment_failed',
  'payment_intent.canceled',
] as const;
export type StripeHandledEvent = (typeof STRIPE_HANDLED_EVENTS)[number];

export const isHandledStripeEvent = (type: string): type is StripeHandledEvent =>
  (STRIPE_HANDLED_EVENTS as readonly string[]).includes(type);

/** Why a PaymentIntent failed, in a line for the payment's failureReason and timeline. */
export function stripeFailureReason(
  pi: Pick<Stripe.PaymentIntent, 'status' | 'last_payment_error' | 'cancellation_reason'>,
): string | null {
  if (pi.status === 'canceled') return `canceled${pi.cancellation_reason ? `: ${pi.cancellation_reason}` : ''}`;
  const e = pi.last_payment_error;
  if (!e) return null;
  return [e.code, e.decline_code].filter(Boolean).join(': ') || e.type;
}
