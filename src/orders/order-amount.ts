import { DomainError } from '../common/errors/domain-error.js';
import type { OrderItem } from './order.entity.js';

/** Largest order total accepted, in minor units: far below 2^53, so sums stay exact. */
export const MAX_ORDER_AMOUNT = 99_999_999_999;

/** An order's amount is the sum of quantity × unit amount, in integer minor units. */
export function computeOrderAmount(items: readonly Pick<OrderItem, 'quantity' | 'unitAmount'>[]): number {
  let total = 0;
  for (const { quantity, unitAmount } of items) {
    if (!Number.isSafeInteger(quantity) || quantity < 1 || !Number.isSafeInteger(unitAmount) || unitAmount < 0) {
      throw new DomainError(
        'ORDER.INVALID_ITEM',
        422,
        'Invalid order item',
        'quantity must be ≥ 1 and unitAmount ≥ 0, both integers.',
      );
    }
    total += quantity * unitAmount;
    if (total > MAX_ORDER_AMOUNT) {
      throw new DomainError(
        'ORDER.AMOUNT_TOO_LARGE',
        422,
        'Order amount too large',
        `The total must not exceed ${MAX_ORDER_AMOUNT} minor units.`,
      );
    }
  }
  if (total === 0) {
    throw new DomainError('ORDER.AMOUNT_ZERO', 422, 'Order amount is zero', 'An order must cost something to be paid.');
  }
  return total;
}
