import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Stripe from 'stripe';
import { http } from '../factories/orders.factory.js';
import { createTestApp, type TestApp } from '../utils/create-test-app.js';
import { startSink, type SinkRequest } from '../utils/http-sink.js';
import { PSP_KEY, WEBHOOK_SECRET } from '../utils/test-env.js';
import { waitFor } from '../utils/wait-for.js';

/**
 * The PSP mock's Stripe dialect with the official SDK as its client (pointed at the mock
 * with host/port/protocol), and every webhook it sends checked by the SDK's own
 * stripe.webhooks.constructEvent.
 */
describe('the PSP mock speaks Stripe', () => {
  let t: TestApp;
  let sink: Awaited<ReturnType<typeof startSink>>;
  let stripe: Stripe;
  const pspHeaders = { authorization: `Bearer ${PSP_KEY}`, 'content-type': 'application/json' };

  beforeAll(async () => {
    sink = await startSink(() => Promise.resolve({ status: 200 }));
    t = await createTestApp({ PSP_STRIPE_WEBHOOK_URL: `${sink.url}/stripe-hook` });
    const { hostname, port } = new URL(t.url);
    stripe = new Stripe(PSP_KEY, { host: hostname, port: Number(port), protocol: 'http', maxNetworkRetries: 0 });
  });
  afterAll(async () => {
    await t.close();
    await sink.close();
  });

  /** The events the sink received for a PaymentIntent, each verified with the SDK (throws on a bad signature). */
  const eventsFor = (piId: string): Stripe.Event[] =>
    sink.requests
      .map((r: SinkRequest) =>
        stripe.webhooks.constructEvent(r.body, String(r.headers['stripe-signature']), WEBHOOK_SECRET),
      )
      .filter((e) => (e.data.object as { id?: string }).id === piId);

  const create = (paymentMethod: string, params: Partial<Stripe.PaymentIntentCreateParams> = {}) =>
    stripe.paymentIntents.create({
      amount: 2598,
      currency: 'usd',
      confirm: true,
      payment_method: paymentMethod,
      metadata: { orderId: 'order-1', paymentId: 'payment-1' },
      ...params,
    });

  it('creates a PaymentIntent that settles succeeded and reports it in a Stripe-signed event', async () => {
    const pi = await create('pm_card_visa');
    expect(pi).toMatchObject({
      object: 'payment_intent',
      status: 'processing',
      amount: 2598,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      metadata: { orderId: 'order-1', paymentId: 'payment-1' },
    });
    expect(pi.id).toMatch(/^pi_[0-9a-f]{24}$/);
    const event = await waitFor('payment_intent.succeeded', () => Promise.resolve(eventsFor(pi.id)[0]));
    expect(event).toMatchObject({
      object: 'event',
      type: 'payment_intent.succeeded',
      livemode: false,
      data: { object: { id: pi.id, status: 'succeeded', amount_received: 2598, metadata: pi.metadata } },
    });
    const delivery = sink.requests.find((r) => r.body.includes(event.id))!;
    expect(delivery.url).toBe('/stripe-hook');
    expect(delivery.headers['webhook-signature']).toBeUndefined();
    expect((await stripe.paymentIntents.retrieve(pi.id)).status).toBe('succeeded');
  });

  // Stripe's own example objects (test/fixtures/stripe, from its OpenAPI repository): every
  // field they have, the dialect has, with the same JSON type (null where Stripe has null
  // counts as either: the example leaves optional objects out).
  it("answers with every field of Stripe's example PaymentIntent and Event, of the same type", async () => {
    const fixtures = (
      JSON.parse(readFileSync(join(__dirname, '../fixtures/stripe/fixtures.json'), 'utf8')) as {
        resources: Record<string, Record<string, unknown>>;
      }
    ).resources;
    const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
    const mismatches = (ours: Record<string, unknown>, theirs: Record<string, unknown>) =>
      Object.entries(theirs).flatMap(([k, v]) =>
        !(k in ours)
          ? [`${k}: missing`]
          : kind(v) !== 'null' && kind(ours[k]) !== 'null' && kind(v) !== kind(ours[k])
            ? [`${k}: ${kind(ours[k])}, Stripe ${kind(v)}`]
            : [],
      );
    const pi = await create('pm_card_visa');
    expect(mismatches(pi as unknown as Record<string, unknown>, fixtures.payment_intent)).toEqual([]);
    const event = await waitFor('its event', () => Promise.resolve(eventsFor(pi.id)[0]));
    expect(mismatches(event as unknown as Record<string, unknown>, fixtures.event)).toEqual([]);
    expect(mismatches(event.data.object as unknown as Record<string, unknown>, fixtures.payment_intent)).toEqual([]);
  });

  it('declines pm_card_chargeDeclined: payment_intent.payment_failed with the card error', async () => {
    const pi = await create('pm_card_chargeDeclined');
    const event = await waitFor('payment_intent.payment_failed', () => Promise.resolve(eventsFor(pi.id)[0]));
    expect(event.type).toBe('payment_intent.payment_failed');
    const failed = await stripe.paymentIntents.retrieve(pi.id);
    expect(failed).toMatchObject({
      status: 'requires_payment_method',
      last_payment_error: { type: 'card_error', code: 'card_declined' },
    });
  });

  it('holds pm_card_threeDSecureRequired in requires_action with a next action, then succeeds', async () => {
    const pi = await create('pm_card_threeDSecureRequired');
    expect(pi.status).toBe('requires_action');
    expect(pi.next_action?.type).toBe('use_stripe_sdk');
    const event = await waitFor('3-D Secure succeeded', () => Promise.resolve(eventsFor(pi.id)[0]));
    expect(event).toMatchObject({ type: 'payment_intent.succeeded', data: { object: { next_action: null } } });
  });

  it("answers errors in Stripe's shape, so the SDK raises its own typed errors; nothing is created", async () => {
    const before = await t.db.query(`SELECT count(*)::int AS n FROM psp_payments`);
    await expect(
      stripe.paymentIntents.create({ currency: 'usd', confirm: true, payment_method: 'pm_card_visa' } as never),
    ).rejects.toMatchObject({
      type: 'StripeInvalidRequestError',
      statusCode: 400,
      param: 'amount',
      code: 'parameter_missing',
    });
    await expect(create('pm_card_unknown')).rejects.toMatchObject({ statusCode: 400, param: 'payment_method' });
    await expect(create('pm_card_visa', { confirm: false })).rejects.toMatchObject({
      statusCode: 400,
      param: 'confirm',
    });
    await expect(stripe.paymentIntents.retrieve('pi_missing')).rejects.toMatchObject({
      type: 'StripeInvalidRequestError',
      statusCode: 404,
      code: 'resource_missing',
    });
    // created[...] takes Stripe's four comparisons only, not an Object.prototype name.
    for (const op of ['constructor', 'toString', 'eq']) {
      await expect(stripe.events.list({ created: { [op]: 1 } })).rejects.toMatchObject({
        type: 'StripeInvalidRequestError',
        statusCode: 400,
        param: 'created',
      });
    }
    const wrongKey = new Stripe('sk_test_unused', {
      host: new URL(t.url).hostname,
      port: Number(new URL(t.url).port),
      protocol: 'http',
      maxNetworkRetries: 0,
    });
    await expect(wrongKey.paymentIntents.retrieve('pi_missing')).rejects.toMatchObject({
      type: 'StripeAuthenticationError',
      statusCode: 401,
    });
    expect(await t.db.query(`SELECT count(*)::int AS n FROM psp_payments`)).toEqual(before);
  });

  it('honours Idempotency-Key: the same PaymentIntent again, another body refused', async () => {
    const key = `order-idem-${Date.now()}`;
    const params = { amount: 700, currency: 'eur', confirm: true, payment_method: 'pm_card_visa' };
    const first = await stripe.paymentIntents.create(params, { idempotencyKey: key });
    const again = await stripe.paymentIntents.create(params, { idempotencyKey: key });
    expect(again.id).toBe(first.id);
    await expect(
      stripe.paymentIntents.create({ ...params, amount: 701 }, { idempotencyKey: key }),
    ).rejects.toMatchObject({ type: 'StripeIdempotencyError' });
  });

  it('lists its events newest first at /v1/events, paged with starting_after, and only its own', async () => {
    const a = await create('pm_card_visa');
    const b = await create('pm_card_chargeDeclined');
    await waitFor('both events', () => Promise.resolve(eventsFor(a.id).length > 0 && eventsFor(b.id).length > 0));
    const all: Stripe.Event[] = [];
    for await (const e of stripe.events.list({ limit: 2 })) all.push(e);
    const ids = all.map((e) => (e.data.object as { id: string }).id);
    expect(ids).toEqual(expect.arrayContaining([a.id, b.id]));
    const created = all.map((e) => e.created);
    expect([...created].sort((x, y) => y - x)).toEqual(created);
    expect(new Set(all.map((e) => e.id)).size).toBe(all.length);
    const recent = await stripe.events.list({
      created: { gte: all[0].created },
      type: 'payment_intent.payment_failed',
    });
    expect(recent.data.every((e) => e.type === 'payment_intent.payment_failed')).toBe(true);
    // The mock's own events API keeps its own envelope only.
    const own = await http(t.url, 'GET', '/psp/v1/events?limit=100', undefined, pspHeaders);
    expect(own.status).toBe(200);
    expect((own.body.data as { type: string }[]).some((e) => e.type.startsWith('payment_intent.'))).toBe(false);
  });

  it('applies the chaos settings to the dialect: a duplicated delivery carries the same event id', async () => {
    expect((await http(t.url, 'PUT', '/psp/v1/chaos', { duplicateRate: 1 }, pspHeaders)).status).toBe(200);
    try {
      const pi = await create('pm_card_visa');
      const events = await waitFor('two deliveries', () => {
        const got = eventsFor(pi.id);
        return Promise.resolve(got.length >= 2 && got);
      });
      expect(events[1].id).toBe(events[0].id);
    } finally {
      await http(t.url, 'DELETE', '/psp/v1/chaos', undefined, pspHeaders);
    }
  });
});
