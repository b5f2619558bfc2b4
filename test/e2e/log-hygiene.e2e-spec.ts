import { createOrder, http, payOrder } from '../factories/orders.factory.js';
import { createTestApp, type TestApp } from '../utils/create-test-app.js';
import { pspEvent } from '../factories/psp-events.factory.js';
import { signWebhook } from '../utils/sign-webhook.js';
import { ADMIN_KEY, PSP_KEY, SHOP_KEY, WEBHOOK_SECRET } from '../utils/test-env.js';
import { waitFor } from '../utils/wait-for.js';
import { captureOutput } from '../utils/capture-output.js';

describe('logs', () => {
  let t: TestApp | undefined;

  afterAll(async () => {
    await t?.close();
  });

  it('tell the story of a full run without any secret, API key or signature in them', async () => {
    const sentSignatures: string[] = [];
    const logs = await captureOutput(async () => {
      t = await createTestApp({ LOG_LEVEL: 'verbose' });
      const app = t;
      // A paid order, a declined one, and the ways a request can be refused.
      const order = await createOrder(app.url);
      const payment = await payOrder(app.url, order.id);
      await waitFor(
        'order paid',
        async () => (await http(app.url, 'GET', `/orders/${order.id}`)).body.status === 'paid',
      );
      const declined = await createOrder(app.url);
      await payOrder(app.url, declined.id, { paymentMethod: 'pm_card_declined' });
      await waitFor(
        'order failed',
        async () => (await http(app.url, 'GET', `/orders/${declined.id}`)).body.status === 'payment_failed',
      );

      const replay = signWebhook(pspEvent({ pspPaymentId: payment.pspPaymentId, amount: payment.amount }));
      const forged = signWebhook(pspEvent({ pspPaymentId: payment.pspPaymentId, amount: 1 }), {
        secret: `whsec_${Buffer.from('attacker-guess').toString('base64')}`,
      });
      const stale = signWebhook(pspEvent({ pspPaymentId: payment.pspPaymentId, amount: 1 }), { timestamp: 1_000_000 });
      for (const req of [replay, replay, forged, stale]) {
        sentSignatures.push(req.headers['webhook-signature']);
        await fetch(`${app.url}/webhooks/psp`, { method: 'POST', headers: req.headers, body: req.body });
      }
      await http(app.url, 'GET', '/orders', undefined, { authorization: `Bearer ${PSP_KEY}` });
      await http(app.url, 'GET', '/orders', undefined, { authorization: 'Bearer sk_wrong_0123456789abcdef' });
      await http(app.url, 'GET', '/psp/v1/payments/pay_x', undefined, { authorization: `Bearer ${ADMIN_KEY}` });
    });

    // The logs do explain what happened…
    expect(logs).toContain('Rejected psp webhook');
    expect(logs).toContain('SIGNATURE_INVALID');
    expect(logs).toContain('TIMESTAMP_OUT_OF_TOLERANCE');
    expect(logs).toMatch(/Order \S+ pending_payment → paid/);
    // …and give away nothing that would let someone act as the shop, the admin, the PSP or sign a webhook.
    const secretBase64 = WEBHOOK_SECRET.slice('whsec_'.length);
    for (const secret of [SHOP_KEY, ADMIN_KEY, PSP_KEY, 'sk_wrong_0123456789abcdef', WEBHOOK_SECRET, secretBase64]) {
      expect(logs).not.toContain(secret);
    }
    for (const signature of sentSignatures) expect(logs).not.toContain(signature.slice(3));
    expect(logs).not.toMatch(/v1,[A-Za-z0-9+/]{43}=/); // Standard Webhooks signatures
    expect(logs).not.toMatch(/v1=[0-9a-f]{64}/); // Stripe signatures
  });
});
