import { createOrder, http, payOrder } from '../factories/orders.factory.js';
import { createTestApp, type TestApp } from '../utils/create-test-app.js';
import { PSP_KEY } from '../utils/test-env.js';
import { waitFor } from '../utils/wait-for.js';
import { InboxRepository } from '../../src/webhooks/inbound/inbox.repository.js';

/** thin_webhook: the PSP's event carries ids only; the shop fetches the state (decision 1102). */
describe('thin webhook + fetch strategy', () => {
  let t: TestApp;

  beforeAll(async () => {
    // The deadline far away: only the thin event can make the shop fetch.
    t = await createTestApp({
      PSP_SETTLE_DELAY_MIN_MS: '200',
      PSP_SETTLE_DELAY_MAX_MS: '200',
      WEBHOOK_DEADLINE_MS: '600000',
    });
  });
  afterAll(() => t.close());

  const final = (id: string) =>
    waitFor(
      `payment ${id} final`,
      async () => {
        const [row]: { status: string; resolved_via: string }[] = await t.db.query(
          `SELECT status, resolved_via FROM payments WHERE id = $1`,
          [id],
        );
        return row.status !== 'processing' ? row : undefined;
      },
      { timeoutMs: 20_000 },
    );

  it('gets an event with ids only, fetches the state from the PSP once, and pays the order', async () => {
    // The thin event's row is marked in the statement of its timeline entry (decision 0033).
    const markApplied = jest.spyOn(t.app.get(InboxRepository), 'markApplied');
    const order = await createOrder(t.url);
    const payment = await payOrder(t.url, order.id, { strategy: 'thin_webhook' });
    try {
      expect(await final(payment.id)).toEqual({ status: 'succeeded', resolved_via: 'webhook_fetch' });
      expect(markApplied).not.toHaveBeenCalled();
    } finally {
      markApplied.mockRestore();
    }
    const [row]: { status: string; outcome: string }[] = await t.db.query(
      `SELECT status, outcome FROM webhook_inbox WHERE source = 'psp' AND payload->'data'->>'payment_id' = $1`,
      [payment.pspPaymentId],
    );
    expect(row).toEqual({ status: 'processed', outcome: 'thin event: the state is fetched from the PSP' });

    const [event]: { payload: { data: Record<string, unknown> } }[] = await t.db.query(
      `SELECT payload FROM psp_events WHERE payment_id = $1`,
      [payment.pspPaymentId],
    );
    expect(Object.keys(event.payload.data).sort()).toEqual(['metadata', 'payment_id']);

    const body = (await http(t.url, 'GET', `/payments/${payment.id}`)).body;
    expect(body.strategy).toBe('thin_webhook');
    const types = body.timeline.map((e: { type: string }) => e.type);
    expect(types.indexOf('webhook_received')).toBeGreaterThan(-1);
    expect(types.indexOf('poll_result')).toBeGreaterThan(types.indexOf('webhook_received'));
    const [{ requests_served }]: { requests_served: number }[] = await t.db.query(
      `SELECT requests_served FROM psp_payments WHERE id = $1`,
      [payment.pspPaymentId],
    );
    expect(requests_served).toBe(2); // the creation and the one fetch
    expect((await http(t.url, 'GET', `/orders/${order.id}`)).body.status).toBe('paid');
  });

  it('keeps the snapshot events of a webhook payment whole', async () => {
    const order = await createOrder(t.url);
    const payment = await payOrder(t.url, order.id, { strategy: 'webhook' });
    expect(await final(payment.id)).toEqual({ status: 'succeeded', resolved_via: 'webhook' });
    const [event]: { payload: { data: Record<string, unknown> } }[] = await t.db.query(
      `SELECT payload FROM psp_events WHERE payment_id = $1`,
      [payment.pspPaymentId],
    );
    expect(event.payload.data).toMatchObject({ status: 'completed', amount: expect.any(Number), currency: 'USD' });
  });

  it('refuses an unknown event_format at the PSP with 400 and stores nothing', async () => {
    const before: { n: number }[] = await t.db.query(`SELECT count(*)::int AS n FROM psp_payments`);
    const res = await http(
      t.url,
      'POST',
      '/psp/v1/payments',
      { amount: 100, currency: 'USD', event_format: 'fat' },
      { authorization: `Bearer ${PSP_KEY}`, 'content-type': 'application/json' },
    );
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION.FAILED');
    expect(await t.db.query(`SELECT count(*)::int AS n FROM psp_payments`)).toEqual(before);
  });
});
