import { PaymentPollingService } from '../../src/payments/polling/payment-polling.service.js';
import { ReconciliationService } from '../../src/payments/reconciliation.service.js';
import { PspMockService } from '../../src/psp-mock/psp-mock.service.js';
import { forgetEndpoints, register } from '../factories/endpoints.factory.js';
import { createOrder, http, payOrder } from '../factories/orders.factory.js';
import { startSink } from '../utils/http-sink.js';
import { createTestApp, type TestApp } from '../utils/create-test-app.js';
import { PSP_KEY } from '../utils/test-env.js';
import { waitFor } from '../utils/wait-for.js';

const psp = { authorization: `Bearer ${PSP_KEY}`, 'content-type': 'application/json' };

async function payMany(t: TestApp, n: number, body: Record<string, unknown> = {}) {
  const payments = [];
  for (let i = 0; i < n; i++) {
    const order = await createOrder(t.url);
    payments.push({ order, payment: await payOrder(t.url, order.id, body) });
  }
  return payments;
}

async function allFinal(t: TestApp, ids: string[]) {
  return waitFor(
    `${ids.length} payment(s) final`,
    async () => {
      const rows: { id: string; status: string; resolved_via: string }[] = await t.db.query(
        `SELECT id, status, resolved_via FROM payments WHERE id = ANY($1::uuid[])`,
        [ids],
      );
      return rows.every((r) => r.status !== 'processing') ? rows : undefined;
    },
    { timeoutMs: 20_000 },
  );
}

const requestsServed = async (t: TestApp, pspIds: string[]) =>
  (await t.db.query(`SELECT requests_served FROM psp_payments WHERE id = ANY($1::text[])`, [pspIds])).map(
    (r: { requests_served: number }) => r.requests_served,
  );

describe('fallback polling', () => {
  it('resolves every payment when 100 % of webhook deliveries are dropped', async () => {
    const t = await createTestApp({ PSP_DROP_RATE: '1', WEBHOOK_DEADLINE_MS: '300' });
    try {
      const paid = await payMany(t, 4);
      const declined = await payMany(t, 1, { paymentMethod: 'pm_card_declined' });
      const all = [...paid, ...declined];
      const rows = await allFinal(
        t,
        all.map((p) => p.payment.id),
      );
      expect(rows.map((r) => r.resolved_via)).toEqual(Array(5).fill('fallback_poll'));
      expect(Object.fromEntries(rows.map((r) => [r.id, r.status]))).toEqual(
        Object.fromEntries([
          ...paid.map((p) => [p.payment.id, 'succeeded']),
          ...declined.map((p) => [p.payment.id, 'failed']),
        ]),
      );
      const deliveries = await t.db.query(`SELECT delivery_status FROM psp_events WHERE payment_id = ANY($1::text[])`, [
        all.map((p) => p.payment.pspPaymentId),
      ]);
      expect(deliveries.map((d: { delivery_status: string }) => d.delivery_status)).toEqual(Array(5).fill('dropped'));
      for (const p of paid) {
        expect((await http(t.url, 'GET', `/orders/${p.order.id}`)).body.status).toBe('paid');
      }
    } finally {
      await t.close();
    }
  });

  it('with two worker processes, polls each payment once per round', async () => {
    const a = await createTestApp({ PSP_DROP_RATE: '1', WEBHOOK_DEADLINE_MS: '300' });
    const b = await createTestApp({
      APP_ROLE: 'worker',
      REDIS_PREFIX: a.env.REDIS_PREFIX,
      PSP_BASE_URL: a.url,
      PUBLIC_BASE_URL: a.url,
      PSP_DROP_RATE: '1',
      WEBHOOK_DEADLINE_MS: '300',
    });
    try {
      // Settled long before the deadline: one poll each is all it takes, if no payment is polled twice.
      const payments = await payMany(a, 20);
      await allFinal(
        a,
        payments.map((p) => p.payment.id),
      );
      expect(
        await requestsServed(
          a,
          payments.map((p) => p.payment.pspPaymentId),
        ),
      ).toEqual(Array(20).fill(2));
      const timelines = await a.db.query(
        `SELECT payment_id, count(*)::int AS polls FROM payment_timeline
          WHERE type = 'poll_result' AND payment_id = ANY($1::uuid[]) GROUP BY payment_id`,
        [payments.map((p) => p.payment.id)],
      );
      expect(timelines.map((r: { polls: number }) => r.polls)).toEqual(Array(20).fill(1));
    } finally {
      await b.close();
      await a.close();
    }
    // Two apps started and stopped in one test (each close drains six Bull queues).
  }, 20_000);
});

describe('short and long polling strategies', () => {
  it('short polling asks every SHORT_POLL_INTERVAL_MS until final', async () => {
    const t = await createTestApp({
      SHORT_POLL_INTERVAL_MS: '150',
      // Settles well after the first poll: the poll scheduler may sleep up to a second
      // before it (decision 0020), and at 600 ms a loaded run saw only the final poll.
      PSP_SETTLE_DELAY_MIN_MS: '2500',
      PSP_SETTLE_DELAY_MAX_MS: '2500',
    });
    try {
      const [{ payment }] = await payMany(t, 1, { strategy: 'short_polling' });
      const [row] = await allFinal(t, [payment.id]);
      expect(row).toMatchObject({ status: 'succeeded', resolved_via: 'short_poll' });
      const body = (await http(t.url, 'GET', `/payments/${payment.id}`)).body;
      expect(body.strategy).toBe('short_polling');
      const polls = body.timeline.filter((e: { type: string }) => e.type === 'poll_result');
      expect(polls.length).toBeGreaterThanOrEqual(2);
      expect(polls.slice(0, -1).every((e: { detail: { found?: string } }) => e.detail.found === 'nothing new')).toBe(
        true,
      );
      const [served] = await requestsServed(t, [payment.pspPaymentId]);
      expect(served).toBe(1 + polls.length);
    } finally {
      await t.close();
    }
  });

  it('long polling holds one request until the PSP settles', async () => {
    const t = await createTestApp({
      LONG_POLL_WAIT_S: '5',
      PSP_SETTLE_DELAY_MIN_MS: '700',
      PSP_SETTLE_DELAY_MAX_MS: '700',
    });
    try {
      const [{ payment }] = await payMany(t, 1, { strategy: 'long_polling' });
      const [row] = await allFinal(t, [payment.id]);
      expect(row).toMatchObject({ status: 'succeeded', resolved_via: 'long_poll' });
      expect(await requestsServed(t, [payment.pspPaymentId])).toEqual([2]);
      const [{ lag_ms }] = await t.db.query(
        `SELECT extract(epoch FROM (p.resolved_at - pp.settled_at)) * 1000 AS lag_ms
           FROM payments p JOIN psp_payments pp ON pp.id = p.psp_payment_id WHERE p.id = $1`,
        [payment.id],
      );
      expect(Number(lag_ms)).toBeLessThan(1000);
    } finally {
      await t.close();
    }
  });

  it('gives up after POLL_GIVE_UP_MS, marks the payment for attention and tells payment.attention_required', async () => {
    const t = await createTestApp({
      SHORT_POLL_INTERVAL_MS: '100',
      POLL_GIVE_UP_MS: '1000',
      PSP_SETTLE_DELAY_MIN_MS: '3600000',
      PSP_SETTLE_DELAY_MAX_MS: '3600000',
    });
    const ops = await startSink(() => Promise.resolve({ status: 200 }));
    try {
      await register(t, `${ops.url}/ops`, { eventTypes: ['payment.attention_required'] });
      const [{ payment }] = await payMany(t, 1, { strategy: 'short_polling' });
      const body = await waitFor('attention', async () => {
        const p = (await http(t.url, 'GET', `/payments/${payment.id}`)).body;
        return p.attentionReason ? p : undefined;
      });
      expect(body.status).toBe('processing');
      expect(body.attentionReason).toContain('polling stopped');
      const [{ next_poll_at }] = await t.db.query('SELECT next_poll_at FROM payments WHERE id = $1', [payment.id]);
      expect(next_poll_at).toBeNull();
      expect(await t.app.get(PaymentPollingService).claimDue()).toBe(0);
      const notice = await waitFor('payment.attention_required', () => Promise.resolve(ops.requests[0]));
      expect(JSON.parse(notice.body)).toMatchObject({
        type: 'payment.attention_required',
        data: { payment_id: payment.id, reason: 'polling_gave_up', detail: body.attentionReason },
      });
    } finally {
      await t.close();
      await forgetEndpoints();
      await ops.close();
    }
  });

  it('survives a restart: polling state lives in PostgreSQL', async () => {
    const first = await createTestApp({
      SHORT_POLL_INTERVAL_MS: '1000',
      PSP_SETTLE_DELAY_MIN_MS: '300',
      PSP_SETTLE_DELAY_MAX_MS: '300',
    });
    const [{ payment }] = await payMany(first, 1, { strategy: 'short_polling' });
    const prefix = first.env.REDIS_PREFIX;
    await first.close(); // before its first poll was due
    const second = await createTestApp({ REDIS_PREFIX: prefix, SHORT_POLL_INTERVAL_MS: '1000' });
    try {
      const [row] = await allFinal(second, [payment.id]);
      expect(row).toMatchObject({ status: 'succeeded', resolved_via: 'short_poll' });
    } finally {
      await second.close();
    }
  }, 20_000);
});

describe('PSP mock: long poll, events API, chaos', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ PSP_SETTLE_DELAY_MIN_MS: '3600000', PSP_SETTLE_DELAY_MAX_MS: '3600000' });
  });
  afterAll(async () => {
    await t.close();
  });

  const createPsp = async (over: Record<string, unknown> = {}) =>
    (await http(t.url, 'POST', '/psp/v1/payments', { amount: 500, currency: 'EUR', ...over }, psp)).body as {
      id: string;
    };
  const openLongPolls = async () =>
    Number(/^hookline_psp_long_polls_open (\d+)/m.exec(await (await fetch(`${t.url}/metrics`)).text())?.[1]);

  it('answers a long poll with the unchanged state after `wait` seconds', async () => {
    const p = await createPsp();
    const started = Date.now();
    const res = await http(t.url, 'GET', `/psp/v1/payments/${p.id}?wait=1`, undefined, psp);
    expect(res.body.status).toBe('processing');
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('answers a long poll as soon as the payment settles', async () => {
    const p = await createPsp();
    const started = Date.now();
    const pending = http(t.url, 'GET', `/psp/v1/payments/${p.id}?wait=10`, undefined, psp);
    await waitFor('the long poll to be held', async () => (await openLongPolls()) === 1);
    await t.app.get(PspMockService).settle(p.id);
    const res = await pending;
    expect(res.body.status).toBe('completed');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('releases a held long poll when the client goes away', async () => {
    const p = await createPsp();
    const abort = new AbortController();
    const pending = fetch(`${t.url}/psp/v1/payments/${p.id}?wait=30`, { headers: psp, signal: abort.signal }).catch(
      (err: Error) => err.name,
    );
    await waitFor('the long poll to be held', async () => (await openLongPolls()) === 1);
    abort.abort();
    expect(await pending).toBe('AbortError');
    await waitFor('the long poll to be released', async () => (await openLongPolls()) === 0);
  });

  it('wakes a long poll held by another PSP replica (Redis pub/sub)', async () => {
    const replica = await createTestApp({
      APP_ROLE: 'psp',
      REDIS_PREFIX: t.env.REDIS_PREFIX,
      PSP_SETTLE_DELAY_MIN_MS: '3600000',
      PSP_SETTLE_DELAY_MAX_MS: '3600000',
    });
    try {
      const p = await createPsp();
      const started = Date.now();
      const pending = http(replica.url, 'GET', `/psp/v1/payments/${p.id}?wait=10`, undefined, psp);
      await waitFor('the replica to hold the poll', async () =>
        /^hookline_psp_long_polls_open 1/m.test(await (await fetch(`${replica.url}/metrics`)).text()),
      );
      await t.app.get(PspMockService).settle(p.id); // settled by the other replica
      expect((await pending).body.status).toBe('completed');
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await replica.close();
    }
  });

  it('lists events in order with a cursor and a type filter', async () => {
    const ids: string[] = [];
    for (const method of ['pm_card_ok', 'pm_card_declined', 'pm_card_ok']) {
      const p = await createPsp({ payment_method: method });
      await t.app.get(PspMockService).settle(p.id);
      ids.push(p.id);
    }
    // Other suites' events share the table: walk every page, as reconciliation does.
    const all: { event_id: string; type: string; data: { payment_id: string } }[] = [];
    let after = '';
    for (let page = 0; page < 1000; page++) {
      const body = (await http(t.url, 'GET', `/psp/v1/events?limit=100${after}`, undefined, psp)).body;
      expect(body.object).toBe('list');
      all.push(...body.data);
      if (!body.has_more) break;
      after = `&after=${body.data.at(-1).event_id}`;
    }
    const ours = all.filter((e) => ids.includes(e.data.payment_id));
    expect(ours.map((e: { type: string }) => e.type)).toEqual([
      'payment.completed',
      'payment.failed',
      'payment.completed',
    ]);
    const first = ours[0].event_id;
    const page = (await http(t.url, 'GET', `/psp/v1/events?after=${first}&limit=1`, undefined, psp)).body;
    expect(page.data.map((e: { event_id: string }) => e.event_id)).toEqual([ours[1].event_id]);
    expect(page.has_more).toBe(true);
    const failed = (await http(t.url, 'GET', `/psp/v1/events?type=payment.failed&after=${first}`, undefined, psp)).body;
    expect(failed.data.every((e: { type: string }) => e.type === 'payment.failed')).toBe(true);
    const bad = await http(t.url, 'GET', '/psp/v1/events?after=evt_000000000000000000000000', undefined, psp);
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('PSP.INVALID_CURSOR');
  });

  it('changes and resets chaos settings; declineRate 1 declines a good card', async () => {
    const before = (await http(t.url, 'GET', '/psp/v1/chaos', undefined, psp)).body;
    expect(before).toEqual({
      settleDelayMs: { min: 3600000, max: 3600000 },
      declineRate: 0,
      dropRate: 0,
      duplicateRate: 0,
      deliveryDelayMs: { min: 0, max: 0 },
      reorderRate: 0,
      tamperRate: 0,
    });
    const put = await http(t.url, 'PUT', '/psp/v1/chaos', { declineRate: 1 }, psp);
    expect(put.body).toEqual({ ...before, declineRate: 1 });
    const p = await createPsp();
    await t.app.get(PspMockService).settle(p.id);
    expect((await http(t.url, 'GET', `/psp/v1/payments/${p.id}`, undefined, psp)).body.status).toBe('failed');
    const bad = await http(t.url, 'PUT', '/psp/v1/chaos', { settleDelayMs: { min: 10, max: 5 } }, psp);
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('PSP.CHAOS_INVALID');
    expect((await http(t.url, 'PUT', '/psp/v1/chaos', { dropRate: 2 }, psp)).status).toBe(400);
    const badDelay = await http(t.url, 'PUT', '/psp/v1/chaos', { deliveryDelayMs: { min: 10, max: 5 } }, psp);
    expect(badDelay.status).toBe(400);
    expect(badDelay.body.code).toBe('PSP.CHAOS_INVALID');
    for (const field of ['duplicateRate', 'reorderRate', 'tamperRate']) {
      expect((await http(t.url, 'PUT', '/psp/v1/chaos', { [field]: 1.5 }, psp)).status).toBe(400);
      expect((await http(t.url, 'PUT', '/psp/v1/chaos', { [field]: -0.1 }, psp)).status).toBe(400);
    }
    expect((await http(t.url, 'PUT', '/psp/v1/chaos', { deliveryDelayMs: { min: -1, max: 5 } }, psp)).status).toBe(400);
    const all = await http(
      t.url,
      'PUT',
      '/psp/v1/chaos',
      { duplicateRate: 0.2, deliveryDelayMs: { min: 5, max: 10 }, reorderRate: 0.3, tamperRate: 0.1 },
      psp,
    );
    expect(all.body).toEqual({
      ...before,
      declineRate: 1,
      duplicateRate: 0.2,
      deliveryDelayMs: { min: 5, max: 10 },
      reorderRate: 0.3,
      tamperRate: 0.1,
    });
    expect((await http(t.url, 'DELETE', '/psp/v1/chaos', undefined, psp)).body).toEqual(before);
  });
});

describe('reconciliation', () => {
  it('applies events that never arrived, one PSP request per page, and only once', async () => {
    const t = await createTestApp({ PSP_DROP_RATE: '1', WEBHOOK_DEADLINE_MS: '3600000' });
    try {
      const payments = await payMany(t, 3);
      await waitFor('the PSP to settle', async () => {
        const rows = await t.db.query(
          `SELECT 1 FROM psp_payments WHERE id = ANY($1::text[]) AND status <> 'processing'`,
          [payments.map((p) => p.payment.pspPaymentId)],
        );
        return rows.length === 3;
      });
      const metric = async () =>
        Number(
          /^hookline_psp_requests_total\{route="list_events"\} (\d+)/m.exec(
            await (await fetch(`${t.url}/metrics`)).text(),
          )?.[1] ?? 0,
        );
      const listBefore = await metric();
      const report = await t.app.get(ReconciliationService).run();
      expect(report!.missed).toBeGreaterThanOrEqual(3);
      expect((await metric()) - listBefore).toBe(report!.pages);
      const rows = await allFinal(
        t,
        payments.map((p) => p.payment.id),
      );
      expect(rows.map((r) => r.resolved_via)).toEqual(Array(3).fill('reconciliation'));
      const again = await t.app.get(ReconciliationService).run();
      expect(again!.missed).toBe(0);
    } finally {
      await t.close();
    }
  });
});
