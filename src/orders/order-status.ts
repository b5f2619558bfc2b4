import { TransitionTable } from '../common/state-machine.js';

export const ORDER_STATUSES = ['pending_payment', 'paid', 'payment_failed', 'cancelled'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** A failed payment leaves the order open for another attempt; `paid` and `cancelled` are final. */
export const orderTransitions = new TransitionTable<OrderStatus>({
  pending_payment: ['paid', 'payment_failed', 'cancelled'],
  payment_failed: ['paid', 'cancelled'],
  paid: [],
  cancelled: [],
});

/** Statuses in which an order accepts a new payment attempt. */
export const PAYABLE_ORDER_STATUSES: readonly OrderStatus[] = ['pending_payment', 'payment_failed'];
