import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import { QueueName } from '../../src/queue/queues.js';
import { createOrder, http, payOrder } from '../factories/orders.factory.js';
import { createTestApp, type TestApp } from '../utils/create-test-app.js';
import { waitFor } from '../utils/wait-for.js';

describe('order → PSP mock → signed webhook → order paid', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  const getOrder = async (id: string) => (await http(t.url, 'GET', `/orders/${id}`)).body;
  const getPayment = async (id: string) => (await http(t.url, 'GET', `/payments/${id}`)).body;

  it('creates an order in pending_payment with its amount computed from the items', async () => {
    const res = await http(t.url, 'POST', '/orders', {
      currency: 'EUR',
      items: [
        { sku: 'A', name: 'Mug', quantity: 3, unitAmount: 850 },
        { sku: 'B', name: 'Poster', quantity: 1, unitAmount: 1999 },
      ],
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: 'pending_payment', currency: 'EUR', amount: 3 * 850 + 1999 });
    const [row] = await t.db.query('SELECT status, amount FROM orders WHERE id = $1', [res.body.id]);
    expect(row).toEqual({ status: 'pending_payment', amount: String(3 * 850 + 1999) });
  });

  it('pays an order by webhook: payment succeeded, order paid, inbox processed, timeline complete', async () => {
    const order = await createOrder(t.url);
    const payment = await payOrder(t.url, order.id);
    expect(payment).toMatchObject({ status: 'processing', amount: order.amount });
    expect(payment.pspPaymentId).toMatch(/^pay_[0-9a-f]{24}$/);

    const paid = await waitFor('order to be paid', async () => {
      const o = await getOrder(order.id);
      return o.status === 'paid' ? o : undefined;
    });
    expect(paid.paidAt).not.toBeNull();

    const p = await getPayment(payment.id);
    expect(p).toMatchObject({ status: 'succeeded', resolvedVia: 'webhook' });
    expect(p.timeline.map((e: { type: string }) => e.type)).toEqual([
      'created',
      'psp_accepted',
      'webhook_received',
      'resolved',
      'order_updated',
    ]);
    const received = p.timeline[2].detail;
    expect(Date.parse(received.pspCreatedAt)).toBeLessThanOrEqual(Date.parse(received.receivedAt));
    expect(Date.parse(received.receivedAt)).toBeLessThanOrEqual(Date.parse(received.verifiedAt));

    const inbox = await t.db.query(
      `SELECT status, processed_at, event_type FROM webhook_inbox WHERE payload->'data'->>'payment_id' = $1`,
      [payment.pspPaymentId],
    );
    expect(inbox).toHaveLength(1);
    expect(inbox[0]).toMatchObject({ status: 'processed', event_type: 'payment.completed' });
    expect(inbox[0].processed_at).not.toBeNull();

    // The PSP records its delivery once the receiver's 202 is back, which may be after the
    // worker has paid the order: wait for it.
    const delivered = await waitFor('the PSP to record its delivery', async () => {
      const [e] = await t.db.query<{ delivery_status: string }[]>(
        `SELECT delivery_status FROM psp_events WHERE payment_id = $1`,
        [payment.pspPaymentId],
      );
      return e?.delivery_status === 'delivered' ? e : undefined;
    });
    expect(delivered.delivery_status).toBe('delivered');
  });

  it("sends the settlement's webhook right after the settlement commits, without a psp-delivery job", async () => {
    const queue = t.app.get<Queue>(getQueueToken(QueueName.PspDelivery), { strict: false });
    const added = jest.spyOn(queue, 'addBulk');
    try {
      const order = await createOrder(t.url);
      const payment = await payOrder(t.url, order.id);
      await waitFor('order to be paid', async () => ((await getOrder(order.id)).status === 'paid' ? true : undefined));
      const attempts = await t.db.query(
        `SELECT a.status_code FROM psp_events e
           JOIN webhook_messages m ON m.owner = 'psp' AND m.event_id = e.id
           JOIN webhook_deliveries d ON d.message_id = m.id
           JOIN webhook_attempts a ON a.delivery_id = d.id
          WHERE e.payment_id = $1`,
        [payment.pspPaymentId],
      );
      expect(attempts).toEqual([{ status_code: 202 }]);
      expect(added).not.toHaveBeenCalled();
    } finally {
      added.mockRestore();
    }
  });

  it('a declined card ends in payment failed and order payment_failed; the order can be paid again', async () => {
    const order = await createOrder(t.url);
    const payment = await payOrder(t.url, order.id, { paymentMethod: 'pm_card_declined' });
    await waitFor('order to be payment_failed', async () => (await getOrder(order.id)).status === 'payment_failed');
    expect(await getPayment(payment.id)).toMatchObject({
      status: 'failed',
      resolvedVia: 'webhook',
      failureReason: 'declined',
    });

    const retry = await payOrder(t.url, order.id);
    await waitFor('order to be paid after retry', async () => (await getOrder(order.id)).status === 'paid');
    expect((await getPayment(retry.id)).status).toBe('succeeded');
  });

  it('refuses a second payment for a paid order with 409 ORDER.ALREADY_PAID', async () => {
    const order = await createOrder(t.url);
    await payOrder(t.url, order.id);
    await waitFor('order to be paid', async () => (await getOrder(order.id)).status === 'paid');
    const res = await http(t.url, 'POST', `/orders/${order.id}/payments`, {});
    expect(res.status).toBe(409);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body.code).toBe('ORDER.ALREADY_PAID');
    const [{ count }] = await t.db.query('SELECT count(*)::int AS count FROM payments WHERE order_id = $1', [order.id]);
    expect(count).toBe(1);
  });

  it('refuses a payment while another one for the same order is processing (409 PAYMENT.IN_PROGRESS)', async () => {
    const slow = await createTestApp({ PSP_SETTLE_DELAY_MIN_MS: '60000', PSP_SETTLE_DELAY_MAX_MS: '60000' });
    try {
      const order = await createOrder(slow.url);
      await payOrder(slow.url, order.id);
      const res = await http(slow.url, 'POST', `/orders/${order.id}/payments`, {});
      expect(res.status).toBe(409);
      expect(res.body.code).toBe('PAYMENT.IN_PROGRESS');
    } finally {
      await slow.close();
    }
  });

  it('answers 404 problem+json for an order that does not exist', async () => {
    for (const id of ['3b9e7c1a-0000-4000-8000-000000000000', 'not-a-uuid']) {
      const res = await http(t.url, 'GET', `/orders/${id}`);
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(res.body).toMatchObject({ status: 404, code: 'ORDER.NOT_FOUND', title: 'Order not found' });
    }
    const pay = await http(t.url, 'POST', '/orders/3b9e7c1a-0000-4000-8000-000000000000/payments', {});
    expect(pay.status).toBe(404);
    expect(pay.body.code).toBe('ORDER.NOT_FOUND');
  });

  it('answers 401 without the API key or with a wrong one, and creates nothing', async () => {
    const [{ before }] = await t.db.query('SELECT count(*)::int AS before FROM orders');
    const none = await http(
      t.url,
      'POST',
      '/orders',
      { currency: 'USD', items: [] },
      { 'content-type': 'application/json' },
    );
    expect(none.status).toBe(401);
    expect(none.body.code).toBe('AUTH.MISSING_KEY');
    const wrong = await http(t.url, 'GET', '/orders', undefined, { authorization: 'Bearer sk_wrong_key_0123456789' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.code).toBe('AUTH.INVALID_KEY');
    const pspKeyOnShop = await http(t.url, 'GET', '/orders', undefined, {
      authorization: `Bearer ${t.env.PSP_API_KEY}`,
    });
    expect(pspKeyOnShop.status).toBe(401);
    const [{ after }] = await t.db.query('SELECT count(*)::int AS after FROM orders');
    expect(after).toBe(before);
  });

  it('rejects invalid orders with 400 VALIDATION.FAILED and 422 for a zero total', async () => {
    const bad = await http(t.url, 'POST', '/orders', {
      currency: 'usd',
      items: [{ sku: 'A', name: 'x', quantity: 0, unitAmount: 1 }],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('VALIDATION.FAILED');
    const zero = await http(t.url, 'POST', '/orders', {
      currency: 'USD',
      items: [{ sku: 'A', name: 'Free', quantity: 1, unitAmount: 0 }],
    });
    expect(zero.status).toBe(422);
    expect(zero.body.code).toBe('ORDER.AMOUNT_ZERO');
  });

  it('lists orders newest first with a cursor and a status filter', async () => {
    const a = await createOrder(t.url);
    const b = await createOrder(t.url);
    const page1 = await http(t.url, 'GET', '/orders?status=pending_payment&limit=1');
    expect(page1.status).toBe(200);
    expect(page1.body.data.map((o: { id: string }) => o.id)).toEqual([b.id]);
    const page2 = await http(t.url, 'GET', `/orders?status=pending_payment&limit=1&cursor=${page1.body.nextCursor}`);
    expect(page2.body.data.map((o: { id: string }) => o.id)).toEqual([a.id]);
    const bad = await http(t.url, 'GET', '/orders?cursor=garbage');
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('ORDER.INVALID_CURSOR');
  });
});
