import { orderTransitions, ORDER_STATUSES } from './order-status.js';

describe('order transition table', () => {
  it.each([
    ['pending_payment', 'paid'],
    ['pending_payment', 'payment_failed'],
    ['pending_payment', 'cancelled'],
    ['payment_failed', 'paid'],
    ['payment_failed', 'cancelled'],
  ] as const)('allows %s → %s', (from, to) => {
    expect(orderTransitions.can(from, to)).toBe(true);
  });

  it.each([
    ['paid', 'payment_failed'],
    ['paid', 'pending_payment'],
    ['paid', 'cancelled'],
    ['cancelled', 'paid'],
    ['payment_failed', 'pending_payment'],
    ['pending_payment', 'pending_payment'],
  ] as const)('forbids %s → %s', (from, to) => {
    expect(orderTransitions.can(from, to)).toBe(false);
  });

  it('has exactly paid and cancelled as final states', () => {
    expect(ORDER_STATUSES.filter((s) => orderTransitions.isFinal(s))).toEqual(['paid', 'cancelled']);
  });
});
