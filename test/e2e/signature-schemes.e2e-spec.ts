import Stripe from 'stripe';
import { Webhook } from 'standardwebhooks';
import { createOrder, http, payOrder } from '../factories/orders.factory.js';
import { createTestApp, type TestApp } from '../utils/create-test-app.js';
import { startSink } from '../utils/http-sink.js';
import { pspEvent } from '../factories/psp-events.factory.js';
import { PSP_KEY, WEBHOOK_SECRET } from '../utils/test-env.js';
import { waitFor } from '../utils/wait-for.js';

const stripe = new Stripe('sk_test_unused');

describe.each(['standard', 'stripe'] as const)('the whole flow with PSP_SIGNATURE_SCHEME=%s', (scheme) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ PSP_SIGNATURE_SCHEME: scheme });
  });
  afterAll(async () => {
    await t.close();
  });

  const orderStatus = async (id: string) => (await http(t.url, 'GET', `/orders/${id}`)).body.status;

  it('pays an order by webhook', async () => {
    const order = await createOrder(t.url);
    const payment = await payOrder(t.url, order.id);
    await waitFor('order paid', async () => (await orderStatus(order.id)) === 'paid');
    expect((await http(t.url, 'GET', `/payments/${payment.id}`)).body).toMatchObject({
      status: 'succeeded',
      resolvedVia: 'webhook',
    });
  });

  it('fails an order paid with a declined card', async () => {
    const order = await createOrder(t.url);
    await payOrder(t.url, order.id, { paymentMethod: 'pm_card_declined' });
    await waitFor('order payment_failed', async () => (await orderStatus(order.id)) === 'payment_failed');
  });

  it("sends deliveries that the scheme's own library verifies", async () => {
    const sink = await startSink(() => Promise.resolve({ status: 200 }));
    try {
      const created = await http(
        t.url,
        'POST',
        '/psp/v1/payments',
        { amount: 4200, currency: 'USD', callback_url: `${sink.url}/hook` },
        { authorization: `Bearer ${PSP_KEY}`, 'content-type': 'application/json' },
      );
      expect(created.status).toBe(201);
      const req = await waitFor('delivery', () => Promise.resolve(sink.requests[0]));
      const headers = req.headers as Record<string, string>;
      const event =
        scheme === 'stripe'
          ? (stripe.webhooks.constructEvent(req.body, headers['stripe-signature'], WEBHOOK_SECRET) as unknown)
          : new Webhook(WEBHOOK_SECRET).verify(req.body, headers);
      expect(event).toMatchObject({ type: 'payment.completed', data: { payment_id: created.body.id, amount: 4200 } });
      if (scheme === 'stripe') expect(headers['webhook-signature']).toBeUndefined();
      else expect(headers['stripe-signature']).toBeUndefined();
    } finally {
      await sink.close();
    }
  });

  it("accepts an event signed by the scheme's own library and refuses the other scheme", async () => {
    const order = await createOrder(t.url);
    const payment = await payOrder(t.url, order.id);
    const event = pspEvent({
      pspPaymentId: payment.pspPaymentId,
      paymentId: payment.id,
      orderId: order.id,
      amount: payment.amount,
    });
    const body = JSON.stringify(event);
    const now = new Date();
    const standardHeaders = {
      'webhook-id': event.event_id,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': new Webhook(WEBHOOK_SECRET).sign(event.event_id, now, body),
    };
    const stripeHeaders = {
      'stripe-signature': stripe.webhooks.generateTestHeaderString({ payload: body, secret: WEBHOOK_SECRET }),
    };
    const [mine, other] = scheme === 'stripe' ? [stripeHeaders, standardHeaders] : [standardHeaders, stripeHeaders];
    const post = (headers: Record<string, string>) =>
      fetch(`${t.url}/webhooks/psp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });

    const refused = await post(other);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { code: string }).code).toBe('WEBHOOK.SIGNATURE_MISSING');
    const accepted = await post(mine);
    expect(accepted.status).toBe(202);
    const [{ count }] = await t.db.query('SELECT count(*)::int AS count FROM webhook_inbox WHERE event_id = $1', [
      event.event_id,
    ]);
    expect(count).toBe(1);
  });
});
