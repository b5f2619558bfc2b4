import { OneProcessingPaymentPerOrder1796520000000 } from '../../migrations/1796520000000-OneProcessingPaymentPerOrder.js';
import { createOrder, http } from '../factories/orders.factory.js';
import { createTestApp, type TestApp } from '../utils/create-test-app.js';

/** Starting a payment in one statement (tryStart) against concurrent starts of the same order. */
describe('POST /orders/:id/payments, concurrently', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  // A request that finds the payment still waiting for the PSP resumes it (201, same payment);
  // once the PSP id is recorded, it is in progress (409).
  it('starts one payment however many requests race for an order', async () => {
    const order = await createOrder(t.url);
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => http(t.url, 'POST', `/orders/${order.id}/payments`, {})),
    );
    expect(answers.every((a) => a.status === 201 || a.status === 409)).toBe(true);
    const started = answers.filter((a) => a.status === 201).map((a) => (a.body as { id: string }).id);
    expect(started.length).toBeGreaterThan(0);
    expect(new Set(started).size).toBe(1);
    const rows = await t.db.query<{ status: string; created: number }[]>(
      `SELECT p.status, (SELECT count(*)::int FROM payment_timeline tl WHERE tl.payment_id = p.id AND tl.type = 'created') AS created
         FROM payments p WHERE p.order_id = $1`,
      [order.id],
    );
    // One payment with one `created` entry; the PSP mock (20–80 ms here) may have settled it already.
    expect(rows).toEqual([{ status: expect.stringMatching(/^(processing|succeeded)$/), created: 1 }]);
  });

  it('refuses a second processing payment of an order at the database', async () => {
    const order = await createOrder(t.url);
    const insert = () =>
      t.db.query(
        `INSERT INTO payments (order_id, status, strategy, payment_method, amount, currency)
         VALUES ($1, 'processing', 'webhook', 'pm_card_ok', 1, 'USD')`,
        [order.id],
      );
    await insert();
    await expect(insert()).rejects.toMatchObject({ driverError: { code: '23505' } });
  });

  // A database restored from before the index (or edited by hand) may hold such orders: the
  // migration names them rather than failing on PostgreSQL's bare duplicate-key error.
  it('migrating a database with such an order names it, and changes nothing', async () => {
    const order = await createOrder(t.url);
    const migration = new OneProcessingPaymentPerOrder1796520000000();
    const runner = t.db.createQueryRunner();
    await runner.startTransaction();
    try {
      await migration.down(runner);
      for (let i = 0; i < 2; i++) {
        await runner.query(
          `INSERT INTO payments (order_id, status, strategy, payment_method, amount, currency)
           VALUES ($1, 'processing', 'webhook', 'pm_card_ok', 1, 'USD')`,
          [order.id],
        );
      }
      await expect(migration.up(runner)).rejects.toThrow(
        new RegExp(`1 order\\(s\\) have more than one processing payment \\(${order.id} ×2\\)`),
      );
      const [index] = (await runner.query(
        `SELECT count(*)::int AS n FROM pg_indexes WHERE indexname = 'idx_payments_one_processing'`,
      )) as { n: number }[];
      expect(index.n).toBe(0);
    } finally {
      await runner.rollbackTransaction();
      await runner.release();
    }
  });
});
