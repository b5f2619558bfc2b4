import { Client } from 'pg';
import { createOrder, payOrder } from '../factories/orders.factory.js';
import { TEST_DATABASE_URL } from './test-env.js';

/** Runs `fn` over `items`, at most `limit` at a time, keeping the order of results. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  });
  await Promise.all(lanes);
  return results;
}

/** A plain connection to the test database (the spawned processes have their own). */
export async function testDb(): Promise<Client> {
  const client = new Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  return client;
}

export interface CreatedPayment {
  orderId: string;
  paymentId: string;
  pspPaymentId: string;
  amount: number;
  currency: string;
}

/** Creates `n` orders and pays each through the shop API (`concurrency` at a time). */
export async function createPayments(apiUrl: string, n: number, concurrency = 8): Promise<CreatedPayment[]> {
  return mapLimit(Array.from({ length: n }), concurrency, async () => {
    const order = await createOrder(apiUrl);
    const payment = await payOrder(apiUrl, order.id);
    return {
      orderId: order.id,
      paymentId: payment.id,
      pspPaymentId: payment.pspPaymentId,
      amount: payment.amount,
      currency: payment.currency,
    };
  });
}

/** Per payment: its status, how it was resolved, and how many `resolved` timeline entries it has. */
export async function paymentOutcomes(db: Client, paymentIds: string[]) {
  const { rows } = await db.query<{
    id: string;
    status: string;
    resolved_via: string | null;
    order_status: string;
    resolved_entries: number;
  }>(
    `SELECT p.id, p.status, p.resolved_via, o.status AS order_status,
            (SELECT count(*)::int FROM payment_timeline t WHERE t.payment_id = p.id AND t.type = 'resolved') AS resolved_entries
       FROM payments p JOIN orders o ON o.id = p.order_id
      WHERE p.id = ANY($1::uuid[])`,
    [paymentIds],
  );
  return rows;
}

/** The PostgreSQL backend (pid) serving `client`. */
export async function backendPid(client: Client): Promise<number> {
  return (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
}

/**
 * Backends of the test database waiting on a lock that backend `pid` holds — not on any
 * lock: transactions also wait on each other for a moment (a relation extension, a tuple).
 */
export async function blockedBy(db: Client, pid: number): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND $1::int = ANY(pg_blocking_pids(pid))`,
    [pid],
  );
  return rows[0].n;
}
