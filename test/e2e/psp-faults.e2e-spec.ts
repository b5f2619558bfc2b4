import { Webhook } from 'standardwebhooks';
import { sleep } from '../../scripts/lib/sleep.js';
import { createOrder, http, shopHeaders } from '../factories/orders.factory.js';
import { createTestApp, type TestApp } from '../utils/create-test-app.js';
import { isPspPaymentCall, startSink } from '../utils/http-sink.js';
import { PSP_KEY, WEBHOOK_SECRET } from '../utils/test-env.js';
import { waitFor } from '../utils/wait-for.js';

describe('PSP faults', () => {
  it('a PSP that fails the payment call leaves the payment open; a retry resumes it with the same key', async () => {
    const holder: { app?: TestApp } = {};
    // Stands in front of the real PSP mock: the first payment call fails with 503, the rest pass through.
    let paymentCalls = 0;
    const proxy = await startSink(async (req) => {
      if (isPspPaymentCall(req) && ++paymentCalls === 1) return { status: 503, body: '{"error":"maintenance"}' };
      const res = await fetch(`${holder.app!.url}${req.url}`, {
        method: req.method,
        headers: req.headers as Record<string, string>,
        body: req.body || undefined,
      });
      return { status: res.status, body: await res.text() };
    });
    const t = await createTestApp({ PSP_BASE_URL: proxy.url });
    holder.app = t;
    try {
      const order = await createOrder(t.url);
      // The same Idempotency-Key both times: a 5xx is not stored, so the retry runs again and resumes.
      const headers = { ...shopHeaders, 'idempotency-key': `resume-${order.id}` };
      const first = await http(t.url, 'POST', `/orders/${order.id}/payments`, {}, headers);
      expect(first.status).toBe(502);
      expect(first.headers.get('content-type')).toContain('application/problem+json');
      expect(first.body.code).toBe('PSP.UNAVAILABLE');
      const paymentId = first.body.paymentId as string;
      const [row] = await t.db.query('SELECT status, psp_payment_id FROM payments WHERE id = $1', [paymentId]);
      expect(row).toEqual({ status: 'processing', psp_payment_id: null });

      const retry = await http(t.url, 'POST', `/orders/${order.id}/payments`, {}, headers);
      expect(retry.status).toBe(201);
      expect(retry.body.id).toBe(paymentId);
      // Payment calls only: the reconciliation and polling tasks may also call the PSP meanwhile.
      expect(proxy.requests.filter(isPspPaymentCall).map((r) => r.headers['idempotency-key'])).toEqual([
        paymentId,
        paymentId,
      ]);

      await waitFor('order paid', async () => (await http(t.url, 'GET', `/orders/${order.id}`)).body.status === 'paid');
      const [{ count }] = await t.db.query(
        `SELECT count(*)::int AS count FROM psp_payments WHERE metadata->>'orderId' = $1`,
        [order.id],
      );
      expect(count).toBe(1);
      const timeline = (await http(t.url, 'GET', `/payments/${paymentId}`)).body.timeline.map(
        (e: { type: string }) => e.type,
      );
      expect(timeline).toEqual([
        'created',
        'psp_error',
        'psp_accepted',
        'webhook_received',
        'resolved',
        'order_updated',
      ]);
    } finally {
      await t.close();
      await proxy.close();
    }
  });

  it('a PSP slower than PSP_TIMEOUT_MS gives 504 PSP.TIMEOUT; the payment stays open and a retry resumes it', async () => {
    const holder: { app?: TestApp } = {};
    // The first payment call hangs until the shop has given up on it (5 s at most, so a shop
    // that never times out answers 201 and fails the test), then reaches the real mock; the
    // rest pass through at once.
    let paymentCalls = 0;
    let releaseHungCall = () => {};
    const shopGaveUp = new Promise<void>((resolve) => (releaseHungCall = resolve));
    let hungCallAnswered = false;
    const slow = await startSink(async (req) => {
      const hung = isPspPaymentCall(req) && ++paymentCalls === 1;
      if (hung) await Promise.race([shopGaveUp, sleep(5_000)]);
      const res = await fetch(`${holder.app!.url}${req.url}`, {
        method: req.method,
        headers: req.headers as Record<string, string>,
        body: req.body || undefined,
      });
      const answer = { status: res.status, body: await res.text() };
      if (hung) hungCallAnswered = true;
      return answer;
    });
    // The mock settles 1.5 s after it accepts the hung call, so the retry below meets the
    // payment still open; settling first would make the retry an honest 409 ORDER.ALREADY_PAID.
    const t = await createTestApp({
      PSP_BASE_URL: slow.url,
      PSP_TIMEOUT_MS: '300',
      PSP_SETTLE_DELAY_MIN_MS: '1500',
      PSP_SETTLE_DELAY_MAX_MS: '1500',
    });
    holder.app = t;
    try {
      const order = await createOrder(t.url);
      const headers = { ...shopHeaders, 'idempotency-key': `slow-${order.id}` };
      const first = await http(t.url, 'POST', `/orders/${order.id}/payments`, {}, headers);
      expect(first.status).toBe(504);
      expect(first.body.code).toBe('PSP.TIMEOUT');
      const [row] = await t.db.query('SELECT status FROM payments WHERE id = $1', [first.body.paymentId]);
      expect(row.status).toBe('processing');
      // The PSP does create the payment on the slow call; the retry's same key must not make a second one.
      releaseHungCall();
      await waitFor('the hung call to reach the PSP', () => Promise.resolve(hungCallAnswered));
      const retry = await http(t.url, 'POST', `/orders/${order.id}/payments`, {}, headers);
      expect(retry.status).toBe(201);
      expect(retry.body.id).toBe(first.body.paymentId);
      await waitFor('order paid', async () => (await http(t.url, 'GET', `/orders/${order.id}`)).body.status === 'paid');
      const [{ count }] = await t.db.query(
        `SELECT count(*)::int AS count FROM psp_payments WHERE metadata->>'orderId' = $1`,
        [order.id],
      );
      expect(count).toBe(1);
    } finally {
      releaseHungCall();
      await t.close();
      await slow.close();
    }
  });

  it('a PSP that is unreachable gives 502 PSP.UNAVAILABLE and creates no PSP payment', async () => {
    const t = await createTestApp({ PSP_BASE_URL: 'http://127.0.0.1:9' });
    try {
      const order = await createOrder(t.url);
      const res = await http(t.url, 'POST', `/orders/${order.id}/payments`, {});
      expect(res.status).toBe(502);
      expect(res.body.code).toBe('PSP.UNAVAILABLE');
      expect((await http(t.url, 'GET', `/orders/${order.id}`)).body.status).toBe('pending_payment');
      const [{ count }] = await t.db.query(
        `SELECT count(*)::int AS count FROM psp_payments WHERE metadata->>'orderId' = $1`,
        [order.id],
      );
      expect(count).toBe(0);
    } finally {
      await t.close();
    }
  });

  it('the PSP mock retries a failing callback with backoff, each attempt validly signed, until it gets a 2xx', async () => {
    const t = await createTestApp();
    const receiver = await startSink((_req, n) => Promise.resolve({ status: n <= 2 ? 503 : 204 }));
    try {
      const created = await http(
        t.url,
        'POST',
        '/psp/v1/payments',
        { amount: 700, currency: 'EUR', callback_url: `${receiver.url}/hook` },
        {
          authorization: `Bearer ${PSP_KEY}`,
          'content-type': 'application/json',
        },
      );
      expect(created.status).toBe(201);
      const [event] = await waitFor('delivery recorded', async () => {
        const rows = await t.db.query(
          `SELECT * FROM psp_events WHERE payment_id = $1 AND delivery_status = 'delivered'`,
          [created.body.id],
        );
        return rows.length ? rows : undefined;
      });
      expect(event.delivery_attempts).toBe(3);
      expect(receiver.requests).toHaveLength(3);
      const verifier = new Webhook(WEBHOOK_SECRET);
      for (const req of receiver.requests) {
        expect(req.headers['webhook-id']).toBe(event.id);
        const payload = verifier.verify(req.body, req.headers as Record<string, string>) as Record<string, any>;
        expect(payload).toMatchObject({
          event_id: event.id,
          type: 'payment.completed',
          data: { payment_id: created.body.id, amount: 700 },
        });
      }
    } finally {
      await t.close();
      await receiver.close();
    }
  });

  it("writes the PSP event's delivery state with the attempt's record: refused, neither is written", async () => {
    const t = await createTestApp();
    const receiver = await startSink(() => Promise.resolve({ status: 204 }));
    const url = `${receiver.url}/hook`;
    // PostgreSQL refuses to mark this callback's PSP event delivered until the constraint goes.
    await t.db.query(
      `ALTER TABLE psp_events ADD CONSTRAINT test_refuse_mirror
         CHECK (callback_url IS DISTINCT FROM '${url}' OR delivery_status <> 'delivered') NOT VALID`,
    );
    try {
      const created = await http(
        t.url,
        'POST',
        '/psp/v1/payments',
        { amount: 700, currency: 'EUR', callback_url: url },
        { authorization: `Bearer ${PSP_KEY}`, 'content-type': 'application/json' },
      );
      expect(created.status).toBe(201);
      const state = () =>
        t.db.query<{ status: string; last_error: string | null; delivery_status: string; delivery_attempts: number }[]>(
          `SELECT d.status, d.last_error, e.delivery_status, e.delivery_attempts
             FROM psp_events e JOIN webhook_messages m ON m.owner = 'psp' AND m.event_id = e.id
             JOIN webhook_deliveries d ON d.message_id = m.id
            WHERE e.payment_id = $1`,
          [created.body.id],
        );
      // Sent, then either recorded (with a separate write of the event's state, which failed) or held back.
      const [held] = await waitFor('the first attempt to be recorded or held back', async () => {
        const rows = await state();
        return rows[0] && (rows[0].status !== 'pending' || rows[0].last_error) ? rows : undefined;
      });
      expect(receiver.requests).toHaveLength(1);
      expect(held).toMatchObject({ status: 'pending', delivery_status: 'pending', delivery_attempts: 0 });
      expect(held.last_error).toMatch(/sent but could not be recorded.*test_refuse_mirror/);
    } finally {
      await t.db.query(`ALTER TABLE psp_events DROP CONSTRAINT IF EXISTS test_refuse_mirror`);
    }
    try {
      // Sent again once the hold-back is over, and recorded with the event's state this time.
      const [done] = await waitFor('the delivery to be recorded', async () => {
        const rows = await t.db.query<{ status: string; delivery_status: string; delivery_attempts: number }[]>(
          `SELECT d.status, e.delivery_status, e.delivery_attempts
             FROM psp_events e JOIN webhook_messages m ON m.owner = 'psp' AND m.event_id = e.id
             JOIN webhook_deliveries d ON d.message_id = m.id
            WHERE e.callback_url = $1 AND d.status <> 'pending'`,
          [url],
        );
        return rows.length ? rows : undefined;
      });
      expect(done).toEqual({ status: 'succeeded', delivery_status: 'delivered', delivery_attempts: 1 });
      expect(receiver.requests).toHaveLength(2);
    } finally {
      await t.close();
      await receiver.close();
    }
  });
});

/**
 * Only the shop's payment calls count: anything else that reaches the stand-in
 * (reconciliation reading events, a stray delivery of an earlier suite to a recycled
 * port) must not take the failure meant for them.
 */
