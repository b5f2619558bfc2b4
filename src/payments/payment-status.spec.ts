import { paymentTransitions, PAYMENT_STATUSES } from './payment-status.js';

describe('payment transition table', () => {
  it('moves processing to succeeded or failed', () => {
    expect(paymentTransitions.can('processing', 'succeeded')).toBe(true);
    expect(paymentTransitions.can('processing', 'failed')).toBe(true);
  });

  it.each([
    ['succeeded', 'failed'],
    ['succeeded', 'processing'],
    ['failed', 'succeeded'],
    ['failed', 'processing'],
    ['processing', 'processing'],
  ] as const)('never moves %s → %s', (from, to) => {
    expect(paymentTransitions.can(from, to)).toBe(false);
  });

  it('has succeeded and failed as its final states', () => {
    expect(PAYMENT_STATUSES.filter((s) => paymentTransitions.isFinal(s))).toEqual(['succeeded', 'failed']);
  });
});
