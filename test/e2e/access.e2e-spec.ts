import { http, orderBody } from '../factories/orders.factory.js';
import { createTestApp, type TestApp } from '../utils/create-test-app.js';
import { postPspEvent, pspEvent } from '../factories/psp-events.factory.js';
import { signWebhook } from '../utils/sign-webhook.js';
import { ADMIN_KEY, PSP_KEY, SHOP_KEY } from '../utils/test-env.js';

const json = (key: string) => ({ authorization: `Bearer ${key}`, 'content-type': 'application/json' });
const SECOND_SHOP_KEY = 'sk_shop_test_limit_second_0000';

describe('access: key realms, rate limit, security headers', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({
      RATE_LIMIT_MAX: '3',
      RATE_LIMIT_WINDOW_S: '60',
      API_KEYS: `${SHOP_KEY},${SECOND_SHOP_KEY}`,
    });
  });
  afterAll(async () => {
    await t.close();
  });

  it('never lets a key of one realm open another', async () => {
    const [{ before }] = await t.db.query('SELECT count(*)::int AS before FROM orders');
    for (const key of [PSP_KEY, ADMIN_KEY]) {
      const res = await http(t.url, 'POST', '/orders', orderBody(), json(key));
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('AUTH.INVALID_KEY');
    }
    for (const key of [SHOP_KEY, ADMIN_KEY]) {
      const res = await http(t.url, 'POST', '/psp/v1/payments', { amount: 100, currency: 'USD' }, json(key));
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('AUTH.INVALID_KEY');
    }
    const [{ after }] = await t.db.query('SELECT count(*)::int AS after FROM orders');
    expect(after).toBe(before);
  });

  it('rate-limits a client with 429 problem+json and Retry-After, per API key', async () => {
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof http>> | undefined;
    for (let i = 0; i < 5; i++) {
      const res = await http(t.url, 'GET', '/orders', undefined, json(SHOP_KEY));
      statuses.push(res.status);
      if (res.status === 429) limited ??= res;
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(limited!.headers.get('content-type')).toContain('application/problem+json');
    expect(limited!.body.code).toBe('REQUEST.RATE_LIMITED');
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another key has its own budget.
    expect((await http(t.url, 'GET', '/orders', undefined, json(SECOND_SHOP_KEY))).status).toBe(200);
  });

  it('does not rate-limit the webhook receiver or the health checks', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      const signed = signWebhook(pspEvent({ pspPaymentId: 'pay_000000000000000000000000', amount: 100 }));
      statuses.push((await postPspEvent(t.url, signed)).status);
      statuses.push((await fetch(`${t.url}/health/live`)).status);
    }
    expect(statuses.filter((s) => s === 429)).toEqual([]);
    expect(statuses.filter((s) => s === 202)).toHaveLength(10);
  });

  it('sends security headers on every kind of response', async () => {
    const responses = [
      await fetch(`${t.url}/health/live`),
      await fetch(`${t.url}/orders`),
      await fetch(`${t.url}/nope`),
      await fetch(`${t.url}/docs`),
    ];
    expect(responses.map((r) => r.status)).toEqual([200, 401, 404, 200]);
    for (const res of responses) {
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      // Plain HTTP: no HSTS (hostile-surfaces.e2e-spec covers TLS through a trusted proxy).
      expect(res.headers.get('strict-transport-security')).toBeNull();
      expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
      expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(res.headers.get('x-powered-by')).toBeNull();
    }
  });
});
