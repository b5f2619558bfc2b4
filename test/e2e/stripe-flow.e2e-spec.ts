import Stripe from 'stripe';
import { ReconciliationService } from '../../src/payments/reconciliation.service.js';
import { createOrder, http, payOrder } from '../factories/orders.factory.js';
import { createTestApp, type TestApp } from '../utils/create-test-app.js';
import { PSP_KEY, WEBHOOK_SECRET } from '../utils/test-env.js';
import { waitFor } from '../utils/wait-for.js';

/**
 * The whole flow with PSP_PROVIDER=stripe: the shop's Stripe adapter (the official SDK,
 * pointed at the PSP mock's Stripe dialect by STRIPE_API_BASE) creates PaymentIntents,
 * and the mock's Stripe-signed events reach POST /webhooks/stripe. The mock's account key
 * and secret are the shop's Stripe keys here.
 */
const stripeEnv =
  (extra: Record<string, string> = {}) =>
  (url: string) => ({
    PSP_PROVIDER: 'stripe',
    STRIPE_SECRET_KEY: PSP_KEY,
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    STRIPE_API_BASE: url,
    ...extra,
  });
const pspHeaders = { authorization: `Bearer ${PSP_KEY}`, 'content-type': 'application/json' };
const sdk = new Stripe('sk_test_unused');

/** Stripe deliveries the receiver answered 200 duplicate (from /metrics). */
const duplicates = async (t: TestApp) =>
  Number(
    /^hookline_webhooks_received_total\{source="stripe",outcome="duplicate"\} (\d+)/m.exec(
      await (await fetch(`${t.url}/metrics`)).text(),
    )?.[1] ?? 0,
  );
const orderStatus = async (t: TestApp, id: string) => (await http(t.url, 'GET', `/orders/${id}`)).body.status;
const paymentOf = async (t: TestApp, id: string) => (await http(t.url, 'GET', `/payments/${id}`)).body;

describe('PSP_PROVIDER=stripe', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp(stripeEnv());
  });
  afterAll(async () => {
    await t.close();
  });

  it('pays an order: PaymentIntent, Stripe-signed webhook to /webhooks/stripe, order paid', async () => {
    const order = await createOrder(t.url);
    const payment = await payOrder(t.url, order.id);
    expect(payment.status).toBe('processing');
    await waitFor('order paid', async () => (await orderStatus(t, order.id)) === 'paid');
    expect(await paymentOf(t, payment.id)).toMatchObject({ status: 'succeeded', resolvedVia: 'webhook' });
    const inbox = await t.db.query(
      `SELECT source, event_type, payload FROM webhook_inbox WHERE payload->'data'->'object'->>'id' = $1`,
      [payment.pspPaymentId],
    );
    expect(inbox).toHaveLength(1);
    expect(inbox[0]).toMatchObject({ source: 'stripe', event_type: 'payment_intent.succeeded' });
    expect(inbox[0].payload).toMatchObject({
      object: 'event',
      data: { object: { metadata: { paymentId: payment.id } } },
    });
    const psp = await t.db.query(`SELECT payment_method FROM psp_payments WHERE id = $1`, [payment.pspPaymentId]);
    expect(psp[0].payment_method).toBe('pm_card_visa');
  });

  it('fails an order paid with a declined card (pm_card_chargeDeclined)', async () => {
    const order = await createOrder(t.url);
    const payment = await payOrder(t.url, order.id, { paymentMethod: 'pm_card_declined' });
    await waitFor('order payment_failed', async () => (await orderStatus(t, order.id)) === 'payment_failed');
    expect(await paymentOf(t, payment.id)).toMatchObject({ status: 'failed', resolvedVia: 'webhook' });
  });

  it('keeps a 3-D Secure payment processing with its next action, then succeeds', async () => {
    const order = await createOrder(t.url);
    const payment = (await payOrder(t.url, order.id, { paymentMethod: 'pm_card_3ds' })) as Awaited<
      ReturnType<typeof payOrder>
    > & { nextAction?: { type: string } };
    expect(payment.status).toBe('processing');
    expect(payment.nextAction).toEqual({ type: 'use_stripe_sdk' });
    await waitFor('order paid', async () => (await orderStatus(t, order.id)) === 'paid');
    const accepted = (await paymentOf(t, payment.id)).timeline.find((e: { type: string }) => e.type === 'psp_accepted');
    expect(accepted.detail).toMatchObject({ pspStatus: 'requires_action', nextAction: 'use_stripe_sdk' });
  });

  it('refuses long_polling with a 422 that says why; nothing is stored', async () => {
    const order = await createOrder(t.url);
    const res = await http(t.url, 'POST', `/orders/${order.id}/payments`, { strategy: 'long_polling' });
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body).toMatchObject({ code: 'PAYMENT.UNSUPPORTED_BY_PSP' });
    expect(res.body.detail).toContain('Stripe has no long polling');
    expect(await t.db.query(`SELECT 1 FROM payments WHERE order_id = $1`, [order.id])).toHaveLength(0);
  });

  it('applies duplicated and reordered deliveries once; a late processing event is ignored with a reason', async () => {
    expect((await http(t.url, 'PUT', '/psp/v1/chaos', { duplicateRate: 1, reorderRate: 0.5 }, pspHeaders)).status).toBe(
      200,
    );
    try {
      const orders = await Promise.all([1, 2, 3].map(() => createOrder(t.url)));
      const payments = await Promise.all(orders.map((o) => payOrder(t.url, o.id)));
      for (const o of orders) await waitFor('order paid', async () => (await orderStatus(t, o.id)) === 'paid');
      // Every event is POSTed twice: the second delivery of each is answered 200 duplicate.
      await waitFor('the second delivery of every event', async () => (await duplicates(t)) >= 3);
      const ids = payments.map((p) => p.pspPaymentId);
      const inbox = await t.db.query(
        `SELECT count(*)::int AS n FROM webhook_inbox WHERE source = 'stripe' AND payload->'data'->'object'->>'id' = ANY($1::text[])`,
        [ids],
      );
      expect(inbox[0].n).toBe(3);
    } finally {
      await http(t.url, 'DELETE', '/psp/v1/chaos', undefined, pspHeaders);
    }
    // Stripe does not promise order: a processing event that arrives after succeeded.
    const paid = (await t.db.query(`SELECT id, psp_payment_id FROM payments WHERE status = 'succeeded' LIMIT 1`))[0];
    const late = JSON.stringify({
      id: `evt_late_${paid.id.slice(0, 8)}`,
      object: 'event',
      type: 'payment_intent.processing',
      created: Math.floor(Date.now() / 1000) - 60,
      api_version: null,
      livemode: false,
      data: {
        object: {
          id: paid.psp_payment_id,
          object: 'payment_intent',
          status: 'processing',
          amount: 2748,
          currency: 'usd',
          metadata: { paymentId: paid.id },
        },
      },
    });
    const res = await fetch(`${t.url}/webhooks/stripe`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'stripe-signature': sdk.webhooks.generateTestHeaderString({ payload: late, secret: WEBHOOK_SECRET }),
      },
      body: late,
    });
    expect(res.status).toBe(202);
    const row = await waitFor('late event processed', async () => {
      const rows = await t.db.query(
        `SELECT status, outcome FROM webhook_inbox WHERE event_id = $1 AND processed_at IS NOT NULL`,
        [`evt_late_${paid.id.slice(0, 8)}`],
      );
      return rows[0];
    });
    expect(row.status).toBe('ignored');
    expect((await paymentOf(t, paid.id)).status).toBe('succeeded');
  });

  it('refuses a Stripe event with a bad signature (401) or a malformed envelope (400); nothing stored', async () => {
    const body = JSON.stringify({
      id: 'evt_forged',
      object: 'event',
      type: 'payment_intent.succeeded',
      data: { object: {} },
    });
    const forged = await fetch(`${t.url}/webhooks/stripe`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'stripe-signature': sdk.webhooks.generateTestHeaderString({
          payload: body,
          secret: 'whsec_not_the_secret_at_all',
        }),
      },
      body,
    });
    expect(forged.status).toBe(401);
    expect(((await forged.json()) as { code: string }).code).toBe('WEBHOOK.SIGNATURE_INVALID');
    const malformed = JSON.stringify({ id: 'evt_malformed', type: 'payment_intent.succeeded', data: {} });
    const bad = await fetch(`${t.url}/webhooks/stripe`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'stripe-signature': sdk.webhooks.generateTestHeaderString({ payload: malformed, secret: WEBHOOK_SECRET }),
      },
      body: malformed,
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { code: string }).code).toBe('WEBHOOK.MALFORMED_EVENT');
    expect(
      await t.db.query(`SELECT 1 FROM webhook_inbox WHERE event_id IN ('evt_forged', 'evt_malformed')`),
    ).toHaveLength(0);
  });
});

describe('PSP_PROVIDER=stripe when webhooks are lost', () => {
  it('falls back to polling the PaymentIntent after the deadline', async () => {
    const t = await createTestApp(stripeEnv({ PSP_DROP_RATE: '1', WEBHOOK_DEADLINE_MS: '300' }));
    try {
      const order = await createOrder(t.url);
      const payment = await payOrder(t.url, order.id);
      await waitFor('order paid', async () => (await orderStatus(t, order.id)) === 'paid');
      expect(await paymentOf(t, payment.id)).toMatchObject({ status: 'succeeded', resolvedVia: 'fallback_poll' });
    } finally {
      await t.close();
    }
  });

  it('reconciles a missed event from GET /v1/events, from its stored cursor, once', async () => {
    const t = await createTestApp(stripeEnv({ PSP_DROP_RATE: '1', WEBHOOK_DEADLINE_MS: '3600000' }));
    try {
      const order = await createOrder(t.url);
      const payment = await payOrder(t.url, order.id, { paymentMethod: 'pm_card_declined' });
      await waitFor('the PSP to settle', async () => {
        const rows = await t.db.query(`SELECT 1 FROM psp_events WHERE payment_id = $1`, [payment.pspPaymentId]);
        return rows.length === 1;
      });
      const report = await t.app.get(ReconciliationService).run();
      expect(report!.missed).toBeGreaterThanOrEqual(1);
      await waitFor('order payment_failed', async () => (await orderStatus(t, order.id)) === 'payment_failed');
      expect(await paymentOf(t, payment.id)).toMatchObject({ status: 'failed', resolvedVia: 'reconciliation' });
      const cursor = await t.db.query(`SELECT cursor FROM reconciliation_cursors WHERE source = 'stripe'`);
      expect(cursor[0].cursor).toMatch(/^evt_/);
      // A second payment settles after the cursor: the next run reads forward from it only.
      const order2 = await createOrder(t.url);
      const payment2 = await payOrder(t.url, order2.id);
      await waitFor('the PSP to settle', async () => {
        const rows = await t.db.query(`SELECT 1 FROM psp_events WHERE payment_id = $1`, [payment2.pspPaymentId]);
        return rows.length === 1;
      });
      const next = await t.app.get(ReconciliationService).run();
      expect(next).toMatchObject({ missed: 1, events: 1 });
      await waitFor('order paid', async () => (await orderStatus(t, order2.id)) === 'paid');
      expect((await t.app.get(ReconciliationService).run())!.missed).toBe(0);
    } finally {
      await t.close();
    }
  });
});
