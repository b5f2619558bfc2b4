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

describe('Idempotency-Key on client POSTs', () => {
  let t: TestApp;
  const orderCount = async () => (await t.db.query('SELECT count(*)::int AS n FROM orders'))[0].n as number;
  const keyRows = async (key: string) => t.db.query('SELECT * FROM idempotency_keys WHERE key = $1', [key]);

  beforeAll(async () => {
    t = await createTestApp({ API_KEYS: `${SHOP_KEY},${OTHER_SHOP_KEY}` });
  });
  afterAll(async () => {
    await t.close();
  });

  it('replays the first answer to a repeat with the same key and body, creating one order', async () => {
    const key = newKey();
    const before = await orderCount();
    const first = await http(t.url, 'POST', '/orders', orderBody(), withKey(key));
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotency-replay')).toBeNull();
    const body = orderBody();
    const reordered = { items: body.items, currency: body.currency };
    const again = await http(t.url, 'POST', '/orders', reordered, withKey(key));
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotency-replay')).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(await orderCount()).toBe(before + 1);
  });

  it('answers 422 IDEMPOTENCY.KEY_REUSED to the same key with another body, changing nothing', async () => {
    const key = newKey();
    expect((await http(t.url, 'POST', '/orders', orderBody(), withKey(key))).status).toBe(201);
    const before = await orderCount();
    const res = await http(t.url, 'POST', '/orders', orderBody({ currency: 'EUR' }), withKey(key));
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('IDEMPOTENCY.KEY_REUSED');
    expect(await orderCount()).toBe(before);
  });

  it('stores nothing for a request that failed validation, so a corrected retry with the key works', async () => {
    const key = newKey();
    const bad = await http(t.url, 'POST', '/orders', { currency: 'USD', items: [] }, withKey(key));
    expect(bad.status).toBe(400);
    expect(await keyRows(key)).toHaveLength(0);
    const good = await http(t.url, 'POST', '/orders', orderBody(), withKey(key));
    expect(good.status).toBe(201);
    expect(good.headers.get('idempotency-replay')).toBeNull();
  });

  it('stores and replays a domain error the handler answered', async () => {
    const key = newKey();
    const path = '/orders/4f1b7f3e-0000-4000-8000-000000000000/payments';
    const first = await http(t.url, 'POST', path, {}, withKey(key));
    expect(first.status).toBe(404);
    const again = await http(t.url, 'POST', path, {}, withKey(key));
    expect(again.status).toBe(404);
    expect(again.headers.get('content-type')).toContain('application/problem+json');
    expect(again.headers.get('idempotency-replay')).toBe('true');
    expect(again.body).toEqual(first.body);
  });

  it('scopes keys per API key', async () => {
    const key = newKey();
    const a = await http(t.url, 'POST', '/orders', orderBody(), withKey(key));
    const otherHeaders = { ...shopHeaders, authorization: `Bearer ${OTHER_SHOP_KEY}` };
    const b = await http(t.url, 'POST', '/orders', orderBody(), withKey(key, otherHeaders));
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(b.headers.get('idempotency-replay')).toBeNull();
    expect(b.body.id).not.toBe(a.body.id);
    const rows = await keyRows(key);
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row.scope).not.toContain(SHOP_KEY);
  });

  it('rejects a key over 255 characters with 400 IDEMPOTENCY.KEY_INVALID and creates nothing', async () => {
    const before = await orderCount();
    const res = await http(t.url, 'POST', '/orders', orderBody(), withKey('k'.repeat(256)));
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('IDEMPOTENCY.KEY_INVALID');
    expect(await orderCount()).toBe(before);
  });

  it('lets concurrent repeats create exactly one order', async () => {
    const key = newKey();
    const before = await orderCount();
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => http(t.url, 'POST', '/orders', orderBody(), withKey(key))),
    );
    const fresh = answers.filter((a) => a.status === 201 && a.headers.get('idempotency-replay') === null);
    expect(fresh).toHaveLength(1);
    for (const a of answers) {
      if (a.status === 409) {
        expect(a.body.code).toBe('IDEMPOTENCY.REQUEST_IN_PROGRESS');
        expect(a.headers.get('retry-after')).toBe('1');
      } else {
        expect(a.status).toBe(201);
        expect(a.body.id).toBe(fresh[0].body.id);
      }
    }
    expect(await orderCount()).toBe(before + 1);
  });

  it('purges keys older than IDEMPOTENCY_TTL_H, after which the key is free again', async () => {
    const key = newKey();
    const first = await http(t.url, 'POST', '/orders', orderBody(), withKey(key));
    await t.db.query(`UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = $1`, [key]);
    const [{ expired }] = await t.db.query(
      `SELECT count(*)::int AS expired FROM idempotency_keys WHERE created_at < now() - interval '24 hours'`,
    );
    expect(await t.app.get(IdempotencyService).purgeExpired()).toBe(expired);
    expect(await keyRows(key)).toHaveLength(0);
    const second = await http(t.url, 'POST', '/orders', orderBody(), withKey(key));
    expect(second.status).toBe(201);
    expect(second.body.id).not.toBe(first.body.id);
  });
});

describe('Idempotency-Key on POST /orders/:id/payments', () => {
  it('answers 409 while the first request runs, then replays it; one payment, one PSP payment', async () => {
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
      const first = http(t.url, 'POST', path, {}, withKey(key));
      // The first request is inside the PSP call once the PSP has seen it.
      const paymentCalls = () => psp.requests.filter(isPspPaymentCall);
      await waitFor('the PSP to receive the first call', () => Promise.resolve(paymentCalls().length > 0));
      const second = await http(t.url, 'POST', path, {}, withKey(key));
      expect(second.status).toBe(409);
      expect(second.body.code).toBe('IDEMPOTENCY.REQUEST_IN_PROGRESS');
      expect(second.headers.get('retry-after')).toBe('1');
      release();
      const done = await first;
      expect(done.status).toBe(201);
      const third = await http(t.url, 'POST', path, {}, withKey(key));
      expect(third.status).toBe(201);
      expect(third.headers.get('idempotency-replay')).toBe('true');
      expect(third.body.id).toBe(done.body.id);
      expect(paymentCalls()).toHaveLength(1);
      const [{ n }] = await t.db.query('SELECT count(*)::int AS n FROM payments WHERE order_id = $1', [order.id]);
      expect(n).toBe(1);
    } finally {
      release();
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
