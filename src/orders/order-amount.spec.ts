import { DomainError } from '../common/errors/domain-error.js';
import { computeOrderAmount, MAX_ORDER_AMOUNT } from './order-amount.js';

describe('computeOrderAmount', () => {
  it('sums quantity × unit amount in minor units', () => {
    expect(
      computeOrderAmount([
        { quantity: 2, unitAmount: 1299 },
        { quantity: 1, unitAmount: 0 },
        { quantity: 3, unitAmount: 5 },
      ]),
    ).toBe(2 * 1299 + 15);
  });

  it('rejects a zero total with ORDER.AMOUNT_ZERO', () => {
    expect(() => computeOrderAmount([{ quantity: 1, unitAmount: 0 }])).toThrow(
      expect.objectContaining({ code: 'ORDER.AMOUNT_ZERO', status: 422 }),
    );
  });

  it('rejects totals above the maximum with ORDER.AMOUNT_TOO_LARGE', () => {
    expect(() => computeOrderAmount([{ quantity: 1000, unitAmount: MAX_ORDER_AMOUNT }])).toThrow(
      expect.objectContaining({ code: 'ORDER.AMOUNT_TOO_LARGE' }),
    );
    expect(computeOrderAmount([{ quantity: 1, unitAmount: MAX_ORDER_AMOUNT }])).toBe(MAX_ORDER_AMOUNT);
  });

  it.each([
    [{ quantity: 0, unitAmount: 100 }],
    [{ quantity: 1.5, unitAmount: 100 }],
    [{ quantity: 1, unitAmount: -1 }],
    [{ quantity: 1, unitAmount: 9.99 }],
  ])('rejects a non-integer or out-of-range item %o', (item) => {
    expect(() => computeOrderAmount([item])).toThrow(DomainError);
  });
});
