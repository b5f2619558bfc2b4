// Orders with a payment in `processing` at the PSP, written straight into PostgreSQL
// (as POST /orders + POST /orders/:id/payments would leave them, without the PSP
// call), so the drain and lag scenarios apply real payment.completed events to them.

import type pg from 'pg';
import { sleep } from '../../lib/sleep.js';

export interface SeededPayment {
  orderId: string;
  paymentId: string;
  pspPaymentId: string;
  amount: number;
}

export const SEED_AMOUNT = 2598;

export async function seedPayments(db: pg.Client, n: number, tag: string): Promise<SeededPayment[]> {
  await db.query('BEGIN');
  try {
    await db.query(
      `CREATE TEMP TABLE seed ON COMMIT DROP AS
         SELECT gen_random_uuid() AS order_id, gen_random_uuid() AS payment_id,
                'pay_bench_' || $2 || '_' || i AS psp_payment_id, i
           FROM generate_series(1, $1::int) AS i`,
      [n, tag],
    );
    await db.query(
      `INSERT INTO orders (id, status, currency, amount, items)
       SELECT order_id, 'pending_payment', 'USD', $1::int,
              jsonb_build_array(jsonb_build_object('sku', 'BENCH-1', 'name', 'Bench item', 'quantity', 1, 'unitAmount', $1::int))
         FROM seed`,
      [SEED_AMOUNT],
    );
    await db.query(
      `INSERT INTO payments (id, order_id, status, strategy, payment_method, amount, currency, psp_payment_id)
       SELECT payment_id, order_id, 'processing', 'webhook', 'pm_card_ok', $1::int, 'USD', psp_payment_id FROM seed`,
      [SEED_AMOUNT],
    );
    const { rows } = await db.query<{ order_id: string; payment_id: string; psp_payment_id: string }>(
      `SELECT order_id, payment_id, psp_payment_id FROM seed ORDER BY i`,
    );
    await db.query('COMMIT');
    return rows.map((r) => ({
      orderId: r.order_id,
      paymentId: r.payment_id,
      pspPaymentId: r.psp_payment_id,
      amount: SEED_AMOUNT,
    }));
  } catch (err) {
    await db.query('ROLLBACK');
    throw err;
  }
}

/** Waits until these orders are all paid, or `timeoutMs` has passed (earlier scenarios' orders are still in the table). */
export async function untilPaid(db: pg.Client, orderIds: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM orders WHERE status = 'paid' AND id = ANY($1::uuid[])`,
      [orderIds],
    );
    if (rows[0].n >= orderIds.length) return;
    await sleep(200);
  }
}
