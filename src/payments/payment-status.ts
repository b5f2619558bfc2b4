import { TransitionTable } from '../common/state-machine.js';

export const PAYMENT_STATUSES = ['processing', 'succeeded', 'failed'] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

export const paymentTransitions = new TransitionTable<PaymentStatus>({
  processing: ['succeeded', 'failed'],
  succeeded: [],
  failed: [],
});

/** thin_webhook: the PSP's event carries ids only and the shop fetches the state (docs/decisions/1102-thin-webhook-fetch.md). */
export const PAYMENT_STRATEGIES = ['webhook', 'short_polling', 'long_polling', 'thin_webhook'] as const;
export type PaymentStrategy = (typeof PAYMENT_STRATEGIES)[number];

export const RESOLVED_VIA = [
  'webhook',
  'fallback_poll',
  'short_poll',
  'long_poll',
  'reconciliation',
  'webhook_fetch',
] as const;
export type ResolvedVia = (typeof RESOLVED_VIA)[number];

/** The shop's test cards; with PSP_PROVIDER=stripe they become pm_card_visa, pm_card_chargeDeclined, pm_card_threeDSecureRequired. */
export const PAYMENT_METHODS = ['pm_card_ok', 'pm_card_declined', 'pm_card_3ds'] as const;
export type PaymentMethod = (typeof PAYMENT_METHODS)[number];
