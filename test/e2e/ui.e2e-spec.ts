import { admin, register } from '../factories/endpoints.factory.js';
import { createOrder, http, payOrder } from '../factories/orders.factory.js';
import { createTestApp, type TestApp } from '../utils/create-test-app.js';
import { Client } from 'pg';
import { startSink } from '../utils/http-sink.js';
import { ADMIN_KEY, PSP_KEY, SHOP_KEY, TEST_DATABASE_URL } from '../utils/test-env.js';
import { waitFor } from '../utils/wait-for.js';

const XSS_NAME = `<script>alert("pwned")</script><img src=x onerror=alert(1)>`;
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

async function page(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

describe('operator UI: GET /ui/payments/:id', () => {
  let t: TestApp;
  let paymentId: string;
  let orderId: string;

  beforeAll(async () => {
    // A short webhook deadline for the dropped-webhook case; a delivered webhook takes ~0.2 s.
    t = await createTestApp({ WEBHOOK_DEADLINE_MS: '1500' });
    const order = await createOrder(t.url, {
      items: [{ sku: 'XSS-1', name: XSS_NAME, quantity: 1, unitAmount: 1299 }],
    });
    orderId = order.id;
    paymentId = (await payOrder(t.url, order.id)).id;
    await waitFor(
      'order to be paid',
      async () => (await http(t.url, 'GET', `/orders/${order.id}`)).body.status === 'paid',
    );
    // The inbox row is marked processed when its transaction commits, after the order turned paid.
    await waitFor('inbox row processed', async () => {
      const rows = await t.db.query(
        `SELECT 1 FROM webhook_inbox WHERE status = 'processed' AND event_id IN (
        SELECT id FROM psp_events WHERE payment_id = (SELECT psp_payment_id FROM payments WHERE id = $1))`,
        [paymentId],
      );
      return rows.length > 0;
    });
    // And the PSP has recorded its delivery's 2xx: it records after the shop answered, so
    // possibly after the order turned paid (a run with two jest workers saw the page first).
    await waitFor('the PSP recorded its delivery', async () => {
      const rows = await t.db.query(
        `SELECT 1 FROM psp_events WHERE delivery_status = 'delivered' AND payment_id = (SELECT psp_payment_id FROM payments WHERE id = $1)`,
        [paymentId],
      );
      return rows.length > 0;
    });
  });
  afterAll(async () => {
    await t.close();
  });

  it('shows a paid payment with the shop key (Bearer): header, webhook badge and every step', async () => {
    const res = await page(`${t.url}/ui/payments/${paymentId}`, { authorization: `Bearer ${SHOP_KEY}` });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(res.text).toMatch(/^<!doctype html>/);
    expect(res.text).toContain(paymentId);
    expect(res.text).toContain(orderId);
    expect(res.text).toContain('12.99 USD');
    expect(res.text).toMatch(/<span class="pill tone-good" id="payment-status">succeeded<\/span>/);
    expect(res.text).toMatch(/<span class="pill tone-good" id="order-status">paid<\/span>/);
    expect(res.text).toMatch(/class="badge via via-webhook"[^>]*><small>resolved via<\/small> webhook</);
    for (const step of [
      'Payment created',
      'PSP accepted the payment',
      'PSP emitted payment.completed',
      'Webhook received: payment.completed',
      'Signature verified, stored in the inbox',
      'Queued for the inbox worker',
      'PSP got a 2xx from the shop for payment.completed',
      'Resolved: payment succeeded via webhook',
      'Order turned paid',
      'Processed by the inbox worker: processed',
    ]) {
      expect(res.text).toContain(step);
    }
    expect(res.text).toMatch(/PSP call \d+ ms/);
    expect(res.text).toMatch(/class="step kind-resolved tone-good side-shop highlight"/);
    // Steps are in time order: offsets never go down.
    const offsets = [...res.text.matchAll(/<span class="offset"[^>]*>\+(\d+) ms</g)].map((m) => Number(m[1]));
    expect(offsets.length).toBeGreaterThanOrEqual(10);
    expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
    expect(offsets[0]).toBe(0);
  });

  it('takes the shop key as the password of HTTP Basic auth, with any user name', async () => {
    for (const user of ['ops', '']) {
      const res = await page(`${t.url}/ui/payments/${paymentId}`, { authorization: basic(user, SHOP_KEY) });
      expect(res.status).toBe(200);
      expect(res.text).toContain(paymentId);
    }
  });

  it('answers 401 HTML with a Basic challenge without a shop key', async () => {
    const wrong: Record<string, string>[] = [
      {},
      { authorization: `Bearer ${ADMIN_KEY}` },
      { authorization: `Bearer ${PSP_KEY}` },
      { authorization: basic('ops', 'sk_shop_test_wrong_key_000') },
      { authorization: basic(SHOP_KEY, '') },
      { authorization: 'Basic not-base64!' },
    ];
    for (const headers of wrong) {
      const res = await page(`${t.url}/ui/payments/${paymentId}`, headers);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="Hookline"/);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.text).toContain('401');
      expect(res.text).not.toContain(paymentId);
    }
  });

  it('answers 404 HTML for an unknown or malformed payment id', async () => {
    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid', encodeURIComponent('<script>x</script>')]) {
      const res = await page(`${t.url}/ui/payments/${id}`, { authorization: `Bearer ${SHOP_KEY}` });
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.text).toMatch(/^<!doctype html>/);
      expect(res.text).toContain('404');
      expect(res.text).not.toContain('<script>x');
    }
  });

  it('escapes user-controlled text: an item name with markup comes out as text', async () => {
    const res = await page(`${t.url}/ui/payments/${paymentId}`, { authorization: `Bearer ${SHOP_KEY}` });
    expect(res.text).not.toContain('<script>');
    expect(res.text).not.toContain('<img');
    expect(res.text).toContain(
      '&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;',
    );
  });

  const resolvedPage = async (id: string) => {
    await waitFor(
      'payment resolved',
      async () => (await http(t.url, 'GET', `/payments/${id}`)).body.status !== 'processing',
      { timeoutMs: 15_000 },
    );
    return page(`${t.url}/ui/payments/${id}`, { authorization: `Bearer ${SHOP_KEY}` });
  };

  it('shows a short-polling payment: polls with their latency, short poll badge, no webhook delivery', async () => {
    const order = await createOrder(t.url);
    const payment = await payOrder(t.url, order.id, { strategy: 'short_polling' });
    const res = await resolvedPage(payment.id);
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/class="badge via via-short_poll"[^>]*><small>resolved via<\/small> short poll</);
    expect(res.text).toMatch(/short poll #\d+: final answer/);
    expect(res.text).toMatch(/<span class="took">poll \d+ ms<\/span>/);
    expect(res.text).toContain('not sent: no callback URL (polling strategy)');
    expect(res.text).not.toContain('Webhook received');
  });

  it('shows a dropped webhook resolved by the fallback poll', async () => {
    const psp = { authorization: `Bearer ${PSP_KEY}`, 'content-type': 'application/json' };
    expect((await http(t.url, 'PUT', '/psp/v1/chaos', { dropRate: 1 }, psp)).status).toBe(200);
    try {
      const order = await createOrder(t.url);
      const payment = await payOrder(t.url, order.id);
      const res = await resolvedPage(payment.id);
      expect(res.text).toMatch(/class="badge via via-fallback_poll"[^>]*><small>resolved via<\/small> fallback poll</);
      expect(res.text).toContain('dropped by chaos: never sent');
      expect(res.text).toMatch(/fallback poll #\d+: final answer/);
      expect(res.text).toContain('Resolved: payment succeeded via fallback poll');
      expect(res.text).not.toContain('Webhook received');
    } finally {
      await http(t.url, 'DELETE', '/psp/v1/chaos', undefined, psp);
    }
  });

  it('is not part of the API document', async () => {
    const doc = (await http(t.url, 'GET', '/docs-json', undefined, {})).body;
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/ui'))).toEqual([]);
  });
});

describe('operator UI: GET /ui/webhook-endpoints/:id (delivery history)', () => {
  let t: TestApp;
  let sink: Awaited<ReturnType<typeof startSink>>;
  let endpointId: string;
  let deliveryId: string;

  beforeAll(async () => {
    t = await createTestApp({ WEBHOOK_RETRY_SCHEDULE: '50ms,50ms' });
    // The endpoint answers with markup of its own the first time: the page must show it as text.
    sink = await startSink((_req, n) =>
      Promise.resolve(n === 1 ? { status: 500, body: XSS_NAME } : { status: 200, body: 'ok' }),
    );
    endpointId = (await register(t, `${sink.url}/hook`)).id;
    deliveryId = (await http(t.url, 'POST', `/webhook-endpoints/${endpointId}/test`, undefined, admin)).body.deliveryId;
    await waitFor(
      'delivery succeeded',
      async () =>
        (await http(t.url, 'GET', `/webhook-deliveries/${deliveryId}`, undefined, admin)).body.status === 'succeeded',
    );
  });
  afterAll(async () => {
    await t.close();
    await sink.close();
    // Leave no endpoint behind in the shared test database.
    const client = new Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    await client.query(`DELETE FROM webhook_endpoints WHERE id = $1`, [endpointId]).finally(() => client.end());
  });

  it('shows the endpoint and each delivery with every attempt, to the admin key', async () => {
    const res = await page(`${t.url}/ui/webhook-endpoints/${endpointId}`, { authorization: basic('ops', ADMIN_KEY) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.text).toContain(`id="endpoint-status">enabled<`);
    expect(res.text).toContain(`data-delivery-id="${deliveryId}"`);
    expect(res.text).toContain('webhook.test');
    expect(res.text.match(/<tr class="attempt">/g)).toHaveLength(2);
    expect(res.text).toContain('HTTP 500');
    // The endpoint's own answer is text, never markup.
    expect(res.text).not.toContain('<script>alert');
    expect(res.text).toContain('&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;');
  });

  it('is closed to other keys, and answers 404 for an unknown endpoint', async () => {
    const others: Record<string, string>[] = [
      {},
      { authorization: `Bearer ${SHOP_KEY}` },
      { authorization: `Bearer ${PSP_KEY}` },
    ];
    for (const headers of others) {
      const res = await page(`${t.url}/ui/webhook-endpoints/${endpointId}`, headers);
      expect(res.status).toBe(401);
      expect(res.text).not.toContain(deliveryId);
    }
    const missing = await page(`${t.url}/ui/webhook-endpoints/00000000-0000-0000-0000-000000000000`, {
      authorization: `Bearer ${ADMIN_KEY}`,
    });
    expect(missing.status).toBe(404);
  });
});
