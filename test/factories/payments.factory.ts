import { createOrder, payOrder } from './orders.factory.js';

/**
 * App settings under which a payment stays `processing` until the test resolves it: the
 * PSP mock settles an hour out and no fallback poll is due before then.
 */
export const PAYMENTS_STAY_PROCESSING = {
  PSP_SETTLE_DELAY_MIN_MS: '3600000',
  PSP_SETTLE_DELAY_MAX_MS: '3600000',
  WEBHOOK_DEADLINE_MS: '3600000',
} as const;

export type CreatedOrder = Awaited<ReturnType<typeof createOrder>>;
export type CreatedPayment = Awaited<ReturnType<typeof payOrder>>;

export interface ProcessingPayment {
  order: CreatedOrder;
  payment: CreatedPayment;
}

/**
 * An order with its payment in `processing`, made through the shop API. It stays so while
 * the app runs with PAYMENTS_STAY_PROCESSING.
 */
export async function processingPayment(base: string): Promise<ProcessingPayment> {
  const order = await createOrder(base);
  const payment = await payOrder(base, order.id);
  return { order, payment };
}
