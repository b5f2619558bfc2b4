import { IdempotencyService } from '../../src/http/idempotency/idempotency.service.js';
import { PspMockService } from '../../src/psp-mock/psp-mock.service.js';
import { PAYMENTS_STAY_PROCESSING } from '../factories/payments.factory.js';
import { createOrder, http, orderBody, shopHeaders } from '../factories/orders.factory.js';
import { createTestApp, type TestApp } from '../utils/create-test-app.js';
import { isPspPaymentCall, startSink } from '../utils/http-sink.js';
import { PSP_KEY, SHOP_KEY } from '../utils/test-env.js';
import { waitFor } from '../utils/wait-for.js';

const OTHER_SHOP_KEY = 'sk_shop_test_second_key_000000';
let seq = 0;
const newKey = () => `idem-${process.pid}-${Date.now()}-${++seq}`;
const withKey = (key: string, headers: Record<string, string> = shopHeaders) => ({
  ...headers,
  'idempotency-key': key,
});

/** A POST whose answer is kept as the bytes that came, to compare a replay with its first answer. */
async function postRaw(base: string, path: string, body: unknown, headers: Record<string, string>) {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: JSON.parse(text) };
}

/**
 * The claim/answer interceptor (IdempotencyInterceptor, rows in idempotency_keys), on the
 * route that still uses it: the Stripe dialect's POST /v1/payment_intents (Stripe-shaped
 * errors). Its domain-4xx branch is in idempotency.interceptor.spec.ts (the route has none).
 */
describe('Idempotency-Key through idempotency_keys (Stripe dialect POST /v1/payment_intents)', () => {
  let t: TestApp;
  const formHeaders = { authorization: `Bearer ${PSP_KEY}`, 'content-type': 'application/x-www-form-urlencoded' };
  const form = (amount = 700) => `amount=${amount}&currency=eur&confirm=true&payment_method=pm_card_visa`;
  const post = (key: string, body = form()) => postRaw(t.url, '/v1/payment_intents', body, withKey(key, formHeaders));
  const keyRows = async (key: string) => t.db.query('SELECT * FROM idempotency_keys WHERE key = $1', [key]);
  const intentCount = async () =>
    (await t.db.query(`SELECT count(*)::int AS n FROM psp_payments WHERE id LIKE 'pi\\_%'`))[0].n as number;

  beforeAll(async () => {
    t = await createTestApp(PAYMENTS_STAY_PROCESSING);
  });
  afterAll(async () => {
    await t.close();
  });

  it('replays the first answer byte for byte to a repeat, creating one PaymentIntent; the key is a completed row', async () => {
    const key = newKey();
    const before = await intentCount();
    const first = await post(key);
    expect(first.status).toBe(200);
    expect(first.headers.get('idempotency-replay')).toBeNull();
    const again = await post(key, 'currency=eur&amount=700&payment_method=pm_card_visa&confirm=true');
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotency-replay')).toBe('true');
    expect(again.text).toBe(first.text);
    expect(await intentCount()).toBe(before + 1);
    const [row] = await keyRows(key);
    expect(row).toMatchObject({ status: 'completed', response_status: 200, path: '/v1/payment_intents' });
    expect(row.scope).toMatch(/^key:/);
    expect(row.scope).not.toContain(PSP_KEY);
  });

  it('refuses the same key with another body (Stripe idempotency_error), creating nothing', async () => {
    const key = newKey();
    expect((await post(key)).status).toBe(200);
    const before = await intentCount();
    const res = await post(key, form(701));
    expect(res.status).toBe(400);
    expect(res.body.error.type).toBe('idempotency_error');
    expect(await intentCount()).toBe(before);
  });

  it('stores nothing for a request that failed validation, so a corrected retry with the key runs', async () => {
    const key = newKey();
    const bad = await post(key, 'amount=700&confirm=true&payment_method=pm_card_visa');
    expect(bad.status).toBe(400);
    expect(bad.body.error.param).toBe('currency');
    expect(await keyRows(key)).toHaveLength(0);
    const good = await post(key);
    expect(good.status).toBe(200);
    expect(good.headers.get('idempotency-replay')).toBeNull();
  });

  it('answers 409 while the first request holds the key, and takes over a claim abandoned for a minute', async () => {
    const key = newKey();
    const first = await post(key);
    // As the claim looks while its request runs.
    await t.db.query(`UPDATE idempotency_keys SET status = 'in_flight', locked_at = now() WHERE key = $1`, [key]);
    const held = await post(key);
    expect(held.status).toBe(409);
    expect(held.body.error).toMatchObject({ type: 'idempotency_error', code: 'idempotency_key_in_use' });
    // Its process ended before it answered: after IDEMPOTENCY_LOCK_TIMEOUT_MS the request runs again.
    await t.db.query(`UPDATE idempotency_keys SET locked_at = now() - interval '2 minutes' WHERE key = $1`, [key]);
    const taken = await post(key);
    expect(taken.status).toBe(200);
    expect(taken.headers.get('idempotency-replay')).toBeNull();
    expect(taken.body.id).not.toBe(first.body.id);
    expect((await keyRows(key))[0]).toMatchObject({ status: 'completed' });
  });

  it('rejects a key over 255 characters and creates nothing', async () => {
    const before = await intentCount();
    const res = await post('k'.repeat(256));
    expect(res.status).toBe(400);
    expect(res.body.error.type).toBe('idempotency_error');
    expect(await intentCount()).toBe(before);
  });

  it('lets concurrent repeats create exactly one PaymentIntent', async () => {
    const key = newKey();
    const before = await intentCount();
    const answers = await Promise.all(Array.from({ length: 10 }, () => post(key)));
    const fresh = answers.filter((a) => a.status === 200 && a.headers.get('idempotency-replay') === null);
    expect(fresh).toHaveLength(1);
    for (const a of answers) {
      if (a.status === 409) expect(a.body.error.code).toBe('idempotency_key_in_use');
      else expect(a.text).toBe(fresh[0].text);
    }
    expect(await intentCount()).toBe(before + 1);
  });

  it('purges keys older than IDEMPOTENCY_TTL_H, after which the key is free again', async () => {
    const key = newKey();
    const first = await post(key);
    await t.db.query(`UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = $1`, [key]);
    const [{ expired }] = await t.db.query(
      `SELECT count(*)::int AS expired FROM idempotency_keys WHERE created_at < now() - interval '24 hours'`,
    );
    expect(await t.app.get(IdempotencyService).purgeExpired()).toBe(expired);
    expect(await keyRows(key)).toHaveLength(0);
    const second = await post(key);
    expect(second.status).toBe(200);
    expect(second.body.id).not.toBe(first.body.id);
  });
});

/** POST /orders keeps the key on the order its one INSERT makes (decision 0031). */
describe('Idempotency-Key on POST /orders (kept on the order)', () => {
  let t: TestApp;
  const orderCount = async () => (await t.db.query('SELECT count(*)::int AS n FROM orders'))[0].n as number;
  const ordersOf = (key: string) =>
    t.db.query<{ id: string; idempotency_scope: string }[]>(
      'SELECT id, idempotency_scope FROM orders WHERE idempotency_key = $1 ORDER BY created_at',
      [key],
    );
  const post = (key: string, body: unknown = orderBody(), headers = shopHeaders) =>
    postRaw(t.url, '/orders', body, withKey(key, headers));

  beforeAll(async () => {
    t = await createTestApp({ API_KEYS: `${SHOP_KEY},${OTHER_SHOP_KEY}` });
  });
  afterAll(async () => {
    await t.close();
  });

  it('replays the first 201 byte for byte after the order moved on; one order, no idempotency_keys row', async () => {
    const key = newKey();
    const before = await orderCount();
    const first = await post(key);
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotency-replay')).toBeNull();
    await t.db.query(`UPDATE orders SET status = 'paid', paid_at = now(), updated_at = now() WHERE id = $1`, [
      first.body.id,
    ]);
    const body = orderBody();
    const again = await post(key, { items: body.items, currency: body.currency });
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotency-replay')).toBe('true');
    expect(again.headers.get('content-type')).toContain('application/json');
    expect(again.text).toBe(first.text);
    expect(await orderCount()).toBe(before + 1);
    expect(await t.db.query('SELECT 1 FROM idempotency_keys WHERE key = $1', [key])).toHaveLength(0);
  });

  it('answers 422 IDEMPOTENCY.KEY_REUSED to the same key with another body, changing nothing', async () => {
    const key = newKey();
    expect((await post(key)).status).toBe(201);
    const before = await orderCount();
    const res = await post(key, orderBody({ currency: 'EUR' }));
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('IDEMPOTENCY.KEY_REUSED');
    expect(await orderCount()).toBe(before);
  });

  it('stores nothing for a request that failed, so a retry with the key runs again', async () => {
    const key = newKey();
    const bad = await post(key, { currency: 'USD', items: [] });
    expect(bad.status).toBe(400);
    const zero = await post(key, orderBody({ items: [{ sku: 'FREE', name: 'Free', quantity: 1, unitAmount: 0 }] }));
    expect(zero.status).toBe(422);
    expect(zero.body.code).toBe('ORDER.AMOUNT_ZERO');
    expect(zero.headers.get('idempotency-replay')).toBeNull();
    const good = await post(key);
    expect(good.status).toBe(201);
    expect(good.headers.get('idempotency-replay')).toBeNull();
    expect((await ordersOf(key)).map((o) => o.id)).toEqual([good.body.id]);
  });

  it('scopes keys per API key, storing neither key', async () => {
    const key = newKey();
    const a = await post(key);
    const b = await post(key, orderBody(), { ...shopHeaders, authorization: `Bearer ${OTHER_SHOP_KEY}` });
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(b.headers.get('idempotency-replay')).toBeNull();
    expect(b.body.id).not.toBe(a.body.id);
    const rows = await ordersOf(key);
    expect(rows).toHaveLength(2);
    expect(new Set(rows.map((r) => r.idempotency_scope)).size).toBe(2);
    for (const row of rows) {
      expect(row.idempotency_scope).not.toContain(SHOP_KEY);
      expect(row.idempotency_scope).not.toContain(OTHER_SHOP_KEY);
    }
  });

  it('rejects a key over 255 characters with 400 IDEMPOTENCY.KEY_INVALID and creates nothing', async () => {
    const before = await orderCount();
    const res = await post('k'.repeat(256));
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('IDEMPOTENCY.KEY_INVALID');
    expect(await orderCount()).toBe(before);
  });

  it('lets concurrent repeats create exactly one order, each answered with it', async () => {
    const key = newKey();
    const before = await orderCount();
    const answers = await Promise.all(Array.from({ length: 10 }, () => post(key)));
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(201));
    const fresh = answers.filter((a) => a.headers.get('idempotency-replay') === null);
    expect(fresh).toHaveLength(1);
    for (const a of answers) expect(a.text).toBe(fresh[0].text);
    expect(await orderCount()).toBe(before + 1);
  });

  it('frees a key after IDEMPOTENCY_TTL_H: a new order, the old one keeps nothing of the key', async () => {
    const key = newKey();
    const first = await post(key);
    await t.db.query(`UPDATE orders SET created_at = now() - interval '25 hours' WHERE id = $1`, [first.body.id]);
    const second = await post(key);
    expect(second.status).toBe(201);
    expect(second.headers.get('idempotency-replay')).toBeNull();
    expect(second.body.id).not.toBe(first.body.id);
    expect((await ordersOf(key)).map((o) => o.id)).toEqual([second.body.id]);
  });
});

/** POST /orders/:id/payments keeps the key on the payment it starts (decision 0031). */
describe('Idempotency-Key on POST /orders/:id/payments (kept on the payment)', () => {
  const paymentsOf = (t: TestApp, key: string) =>
    t.db.query<{ id: string }[]>('SELECT id FROM payments WHERE idempotency_key = $1', [key]);
  const paymentCount = async (t: TestApp, orderId: string) =>
    (await t.db.query('SELECT count(*)::int AS n FROM payments WHERE order_id = $1', [orderId]))[0].n as number;

  describe('with the PSP mock answering', () => {
    let t: TestApp;
    const pay = (orderId: string, key: string, body: unknown = {}) =>
      postRaw(t.url, `/orders/${orderId}/payments`, body, withKey(key));

    beforeAll(async () => {
      t = await createTestApp(PAYMENTS_STAY_PROCESSING);
    });
    afterAll(async () => {
      await t.close();
    });

    it('replays the first 201 byte for byte after the payment settled; one payment, no idempotency_keys row', async () => {
      const order = await createOrder(t.url);
      const key = newKey();
      const first = await pay(order.id, key);
      expect(first.status).toBe(201);
      expect(first.body).toMatchObject({ status: 'processing', pollCount: 0 });
      expect(first.body.pspPaymentId).toMatch(/^pay_/);
      await t.app.get(PspMockService).settle(first.body.pspPaymentId);
      await waitFor('the payment to succeed', async () =>
        (await http(t.url, 'GET', `/payments/${first.body.id}`)).body.status === 'succeeded' ? true : undefined,
      );
      const again = await pay(order.id, key);
      expect(again.status).toBe(201);
      expect(again.headers.get('idempotency-replay')).toBe('true');
      expect(again.text).toBe(first.text);
      expect(await paymentCount(t, order.id)).toBe(1);
      expect(await t.db.query('SELECT 1 FROM idempotency_keys WHERE key = $1', [key])).toHaveLength(0);
    });

    it('answers 422 IDEMPOTENCY.KEY_REUSED to another body, and to the same key for another order', async () => {
      const order = await createOrder(t.url);
      const other = await createOrder(t.url);
      const key = newKey();
      expect((await pay(order.id, key)).status).toBe(201);
      const body = await pay(order.id, key, { strategy: 'short_polling' });
      expect(body.status).toBe(422);
      expect(body.body.code).toBe('IDEMPOTENCY.KEY_REUSED');
      const elsewhere = await pay(other.id, key);
      expect(elsewhere.status).toBe(422);
      expect(elsewhere.body.code).toBe('IDEMPOTENCY.KEY_REUSED');
      expect(elsewhere.body.detail).toContain(`/orders/${order.id}/payments`);
      expect(await paymentCount(t, order.id)).toBe(1);
      expect(await paymentCount(t, other.id)).toBe(0);
    });

    it('lets concurrent repeats start exactly one payment, each answered with it', async () => {
      const order = await createOrder(t.url);
      const key = newKey();
      const answers = await Promise.all(Array.from({ length: 8 }, () => pay(order.id, key)));
      const fresh = answers.filter((a) => a.status === 201 && a.headers.get('idempotency-replay') === null);
      expect(fresh).toHaveLength(1);
      for (const a of answers) {
        if (a.status === 409) {
          expect(a.body.code).toBe('IDEMPOTENCY.REQUEST_IN_PROGRESS');
          expect(a.headers.get('retry-after')).toBe('1');
        } else {
          expect(a.status).toBe(201);
          expect(a.text).toBe(fresh[0].text);
        }
      }
      expect(await paymentCount(t, order.id)).toBe(1);
    });

    it('frees a key after IDEMPOTENCY_TTL_H: a failed payment old enough gives it up to a new one', async () => {
      const order = await createOrder(t.url);
      const key = newKey();
      const first = await pay(order.id, key);
      await t.db.query(
        `UPDATE payments SET status = 'failed', created_at = now() - interval '25 hours' WHERE id = $1`,
        [first.body.id],
      );
      await t.db.query(`UPDATE orders SET status = 'payment_failed' WHERE id = $1`, [order.id]);
      const second = await pay(order.id, key);
      expect(second.status).toBe(201);
      expect(second.headers.get('idempotency-replay')).toBeNull();
      expect(second.body.id).not.toBe(first.body.id);
      expect((await paymentsOf(t, key)).map((p) => p.id)).toEqual([second.body.id]);
    });

    it('keeps keys per route: the key of an order may pay it (decision 0031)', async () => {
      const key = newKey();
      const order = await postRaw(t.url, '/orders', orderBody(), withKey(key));
      expect(order.status).toBe(201);
      const payment = await pay(order.body.id, key);
      expect(payment.status).toBe(201);
      expect(payment.headers.get('idempotency-replay')).toBeNull();
      expect((await paymentsOf(t, key)).map((p) => p.id)).toEqual([payment.body.id]);
    });

    it('stores nothing for a domain error: a repeat runs again', async () => {
      const key = newKey();
      const path = '4f1b7f3e-0000-4000-8000-000000000000';
      const first = await pay(path, key);
      expect(first.status).toBe(404);
      const again = await pay(path, key);
      expect(again.status).toBe(404);
      expect(again.headers.get('idempotency-replay')).toBeNull();
      expect(again.body).toEqual(first.body);
    });
  });

  it('answers 409 while the first request waits on the PSP, then replays it; one payment, one PSP payment', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const holder: { app?: TestApp } = {};
    // A PSP in front of the real mock that holds the first call until the test lets it go.
    const psp = await startSink(async (req) => {
      await gate;
      const res = await fetch(`${holder.app!.url}${req.url}`, {
        method: req.method,
        headers: req.headers as Record<string, string>,
        body: req.body || undefined,
      });
      return { status: res.status, body: await res.text() };
    });
    const t = await createTestApp({ PSP_BASE_URL: psp.url });
    holder.app = t;
    try {
      const order = await createOrder(t.url);
      const key = newKey();
      const path = `/orders/${order.id}/payments`;
      const first = postRaw(t.url, path, {}, withKey(key));
      // The first request is inside the PSP call once the PSP has seen it.
      const paymentCalls = () => psp.requests.filter(isPspPaymentCall);
      await waitFor('the PSP to receive the first call', () => Promise.resolve(paymentCalls().length > 0));
      const second = await postRaw(t.url, path, {}, withKey(key));
      expect(second.status).toBe(409);
      expect(second.body.code).toBe('IDEMPOTENCY.REQUEST_IN_PROGRESS');
      expect(second.headers.get('retry-after')).toBe('1');
      const otherBody = await postRaw(t.url, path, { strategy: 'short_polling' }, withKey(key));
      expect(otherBody.status).toBe(422);
      release();
      const done = await first;
      expect(done.status).toBe(201);
      const third = await postRaw(t.url, path, {}, withKey(key));
      expect(third.status).toBe(201);
      expect(third.headers.get('idempotency-replay')).toBe('true');
      expect(third.text).toBe(done.text);
      expect(paymentCalls()).toHaveLength(1);
      expect(await paymentCount(t, order.id)).toBe(1);
      expect(await t.db.query('SELECT 1 FROM idempotency_keys WHERE key = $1', [key])).toHaveLength(0);
    } finally {
      release();
      await t.close();
      await psp.close();
    }
  });

  it('gives the key up when the PSP call fails: a retry resumes the payment, a repeat then replays', async () => {
    const holder: { app?: TestApp } = {};
    // A PSP that is down for the first payment call, then forwards to the real mock.
    const psp = await startSink(async (req, n) => {
      if (n === 1 && isPspPaymentCall(req)) return { status: 503, body: '{"error":"down"}' };
      const res = await fetch(`${holder.app!.url}${req.url}`, {
        method: req.method,
        headers: req.headers as Record<string, string>,
        body: req.body || undefined,
      });
      return { status: res.status, body: await res.text() };
    });
    const t = await createTestApp({ ...PAYMENTS_STAY_PROCESSING, PSP_BASE_URL: psp.url });
    holder.app = t;
    try {
      const order = await createOrder(t.url);
      const key = newKey();
      const path = `/orders/${order.id}/payments`;
      const failed = await postRaw(t.url, path, {}, withKey(key));
      expect(failed.status).toBeGreaterThanOrEqual(500);
      expect(failed.body.paymentId).toBeDefined();
      expect(await paymentsOf(t, key)).toHaveLength(0);
      const retry = await postRaw(t.url, path, {}, withKey(key));
      expect(retry.status).toBe(201);
      expect(retry.headers.get('idempotency-replay')).toBeNull();
      expect(retry.body.id).toBe(failed.body.paymentId);
      const repeat = await postRaw(t.url, path, {}, withKey(key));
      expect(repeat.headers.get('idempotency-replay')).toBe('true');
      expect(repeat.text).toBe(retry.text);
      expect(await paymentCount(t, order.id)).toBe(1);
    } finally {
      await t.close();
      await psp.close();
    }
  });
});

/**
 * The PSP mock keeps the key on the payment its one INSERT makes (decision 0026): the same
 * answers as the interceptor's, without the idempotency_keys table.
 */
describe("Idempotency-Key on the PSP mock's POST /psp/v1/payments", () => {
  let t: TestApp;
  const pspHeaders = { authorization: `Bearer ${PSP_KEY}`, 'content-type': 'application/json' };
  const body = (over: Record<string, unknown> = {}) => ({
    amount: 700,
    currency: 'EUR',
    metadata: { n: '1' },
    ...over,
  });
  const post = (key: string, b: Record<string, unknown> = body()) =>
    http(t.url, 'POST', '/psp/v1/payments', b, withKey(key, pspHeaders));
  const paymentsOf = (key: string) =>
    t.db.query<{ id: string }[]>('SELECT id FROM psp_payments WHERE idempotency_key = $1', [key]);

  beforeAll(async () => {
    t = await createTestApp(PAYMENTS_STAY_PROCESSING);
  });
  afterAll(async () => {
    await t.close();
  });

  it('replays the first answer, as it was, to a repeat; stores no idempotency_keys row', async () => {
    const key = newKey();
    const first = await post(key);
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotency-replay')).toBeNull();
    // The payment moves on; the replay is still the first answer.
    await t.app.get(PspMockService).settle(first.body.id);
    const again = await post(key, { currency: 'EUR', metadata: { n: '1' }, amount: 700 });
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotency-replay')).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(again.body).toMatchObject({ status: 'processing', settled_at: null, requests_served: 1 });
    expect(await paymentsOf(key)).toHaveLength(1);
    expect(await t.db.query('SELECT 1 FROM idempotency_keys WHERE key = $1', [key])).toHaveLength(0);
  });

  it('answers 422 IDEMPOTENCY.KEY_REUSED to another body, creating nothing', async () => {
    const key = newKey();
    expect((await post(key)).status).toBe(201);
    const other = await post(key, body({ amount: 701 }));
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('IDEMPOTENCY.KEY_REUSED');
    expect(await paymentsOf(key)).toHaveLength(1);
  });

  it('lets concurrent repeats create exactly one payment, each answered with it', async () => {
    const key = newKey();
    const answers = await Promise.all(Array.from({ length: 10 }, () => post(key)));
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(201));
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
    expect(answers.filter((a) => a.headers.get('idempotency-replay') === null)).toHaveLength(1);
    expect(await paymentsOf(key)).toHaveLength(1);
  });

  it('frees a key after IDEMPOTENCY_TTL_H: a new payment, the old one keeps nothing of the key', async () => {
    const key = newKey();
    const first = await post(key);
    await t.db.query(`UPDATE psp_payments SET created_at = now() - interval '25 hours' WHERE id = $1`, [first.body.id]);
    const second = await post(key);
    expect(second.status).toBe(201);
    expect(second.headers.get('idempotency-replay')).toBeNull();
    expect(second.body.id).not.toBe(first.body.id);
    expect((await paymentsOf(key)).map((p) => p.id)).toEqual([second.body.id]);
  });
});
