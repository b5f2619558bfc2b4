import { register } from '../factories/endpoints.factory.js';
import { createOrder, payOrder } from '../factories/orders.factory.js';
import { createTestApp, type TestApp } from '../utils/create-test-app.js';
import { startSink } from '../utils/http-sink.js';
import { waitFor } from '../utils/wait-for.js';

/**
 * Tracing is off unless an OTEL exporter is configured (and the test app configures
 * none): a paid payment then stores no trace context anywhere and sends no traceparent.
 */
describe('tracing off (no OTEL exporter configured)', () => {
  let t: TestApp;
  let merchant: Awaited<ReturnType<typeof startSink>>;

  beforeAll(async () => {
    t = await createTestApp();
    merchant = await startSink(() => Promise.resolve({ status: 200 }));
  });
  afterAll(async () => {
    await t.close();
    await merchant.close();
  });

  it('stores no trace context and sends no traceparent from payment to merchant delivery', async () => {
    await register(t, `${merchant.url}/hooks`, { eventTypes: ['order.paid'] });
    const order = await createOrder(t.url);
    const payment = await payOrder(t.url, order.id);
    const delivered = await waitFor('order.paid at the merchant endpoint', () =>
      Promise.resolve(merchant.requests.find((r) => (JSON.parse(r.body) as { type: string }).type === 'order.paid')),
    );
    expect(delivered.headers.traceparent).toBeUndefined();
    expect(delivered.headers.tracestate).toBeUndefined();

    const traced = await t.db.query<{ table: string; n: number }[]>(
      `SELECT 'payments' AS table, count(*)::int AS n FROM payments WHERE id = $1 AND trace_context IS NOT NULL
       UNION ALL SELECT 'psp_payments', count(*)::int FROM psp_payments WHERE id = $2 AND trace_context IS NOT NULL
       UNION ALL SELECT 'webhook_inbox', count(*)::int FROM webhook_inbox
                  WHERE payload->'data'->>'payment_id' = $2 AND trace_context IS NOT NULL
       UNION ALL SELECT 'webhook_messages', count(*)::int FROM webhook_messages
                  WHERE (payload->'data'->>'payment_id' = $2 OR payload->'data'->>'order_id' = $3) AND trace_context IS NOT NULL`,
      [payment.id, payment.pspPaymentId, order.id],
    );
    expect(traced).toEqual([
      { table: 'payments', n: 0 },
      { table: 'psp_payments', n: 0 },
      { table: 'webhook_inbox', n: 0 },
      { table: 'webhook_messages', n: 0 },
    ]);
    // The rows are there: the query above could have found a trace context.
    const [{ inbox, messages }] = await t.db.query<{ inbox: number; messages: number }[]>(
      `SELECT (SELECT count(*)::int FROM webhook_inbox WHERE payload->'data'->>'payment_id' = $1) AS inbox,
              (SELECT count(*)::int FROM webhook_messages
                WHERE payload->'data'->>'payment_id' = $1 OR payload->'data'->>'order_id' = $2) AS messages`,
      [payment.pspPaymentId, order.id],
    );
    expect({ inbox, messages }).toEqual({ inbox: 1, messages: 2 });
    const [accepted] = await t.db.query<{ detail: Record<string, unknown> }[]>(
      `SELECT detail FROM payment_timeline WHERE payment_id = $1 AND type = 'psp_accepted'`,
      [payment.id],
    );
    expect(accepted.detail).not.toHaveProperty('traceId');
  });
});
