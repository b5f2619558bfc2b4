import { Webhook } from 'standardwebhooks';
import { PspMockService } from '../../src/psp-mock/psp-mock.service.js';
import { createOrder, http, payOrder } from '../factories/orders.factory.js';
import { createTestApp, type TestApp } from '../utils/create-test-app.js';
import { startSink, type SinkRequest } from '../utils/http-sink.js';
import { PSP_KEY, WEBHOOK_SECRET } from '../utils/test-env.js';
import { waitFor } from '../utils/wait-for.js';

const psp = { authorization: `Bearer ${PSP_KEY}`, 'content-type': 'application/json' };
const verifier = new Webhook(WEBHOOK_SECRET);
/**
 * How long a retry after Retry-After (1–2 s here) may take to come: Bull promotes a
 * delayed job on a timer it sets for the next due job and, should that timer miss it,
 * on its 5 s guard interval. A loaded machine once waited over 6 s (not reproduced:
 * 1.2–1.6 s here, under load too); the tests check the wait's lower bound, not its speed.
 */
const DELAYED_JOB_WAIT_MS = 10_000;

jest.setTimeout(30_000);

function validSignature(req: SinkRequest): boolean {
  try {
    verifier.verify(req.body, req.headers as Record<string, string>);
    return true;
  } catch {
    return false;
  }
}

const deliveryCount = async (t: TestApp, outcome: string) => {
  const text = await (await fetch(`${t.url}/metrics`)).text();
  let sum = 0;
  for (const m of text.matchAll(/^hookline_psp_webhook_deliveries_total\{([^}]*)\} (\d+)/gm)) {
    if (m[1].includes(`outcome="${outcome}"`)) sum += Number(m[2]);
  }
  return sum;
};

/**
 * The whole app (shop + PSP mock in one process) with its webhooks going through a
 * recording proxy: every delivery the PSP makes, with the shop's answer.
 */
async function appBehindProxy(overrides: Record<string, string> = {}) {
  const holder: { app?: TestApp } = {};
  const answers: { eventId: string; status: number; at: number; valid: boolean }[] = [];
  const proxy = await startSink(async (req) => {
    const res = await fetch(`${holder.app!.url}${req.url}`, {
      method: 'POST',
      headers: Object.fromEntries(
        Object.entries(req.headers).filter(([k]) => k === 'content-type' || k.startsWith('webhook-')),
      ) as Record<string, string>,
      body: req.body,
    });
    const text = await res.text();
    answers.push({
      eventId: String(req.headers['webhook-id']),
      status: res.status,
      at: Date.now(),
      valid: validSignature(req),
    });
    return { status: res.status, body: text };
  });
  const t = await createTestApp({ PUBLIC_BASE_URL: proxy.url, ...overrides });
  holder.app = t;
  // Chaos settings live in PostgreSQL: start from the defaults, leave nothing behind.
  await http(t.url, 'DELETE', '/psp/v1/chaos', undefined, psp);
  return {
    t,
    answers,
    close: async () => {
      await http(t.url, 'DELETE', '/psp/v1/chaos', undefined, psp);
      await t.close();
      await proxy.close();
    },
  };
}

async function paidOrder(t: TestApp) {
  const order = await createOrder(t.url);
  const payment = await payOrder(t.url, order.id);
  await waitFor('order paid', async () => (await http(t.url, 'GET', `/orders/${order.id}`)).body.status === 'paid', {
    timeoutMs: 15_000,
  });
  return { order, payment };
}

describe('PSP chaos defaults', () => {
  it('come from the environment, and PUT /psp/v1/chaos overrides them', async () => {
    const t = await createTestApp({
      PSP_DUPLICATE_RATE: '0.25',
      PSP_REORDER_RATE: '0.5',
      PSP_TAMPER_RATE: '0.125',
      PSP_DELIVERY_DELAY_MIN_MS: '10',
      PSP_DELIVERY_DELAY_MAX_MS: '20',
    });
    const key = { authorization: `Bearer ${PSP_KEY}`, 'content-type': 'application/json' };
    try {
      await http(t.url, 'DELETE', '/psp/v1/chaos', undefined, key);
      expect((await http(t.url, 'GET', '/psp/v1/chaos', undefined, key)).body).toMatchObject({
        duplicateRate: 0.25,
        reorderRate: 0.5,
        tamperRate: 0.125,
        deliveryDelayMs: { min: 10, max: 20 },
      });
      expect((await http(t.url, 'PUT', '/psp/v1/chaos', { tamperRate: 0 }, key)).body).toMatchObject({
        tamperRate: 0,
        duplicateRate: 0.25,
      });
      // Concurrent PUTs of different fields: each answers 200 and every field is kept.
      await http(t.url, 'DELETE', '/psp/v1/chaos', undefined, key);
      const patches = [
        { tamperRate: 0.01 },
        { duplicateRate: 0.02 },
        { reorderRate: 0.03 },
        { dropRate: 0.04 },
        { declineRate: 0.05 },
        { deliveryDelayMs: { min: 1, max: 2 } },
        { settleDelayMs: { min: 3, max: 4 } },
      ];
      const answers = await Promise.all(patches.map((p) => http(t.url, 'PUT', '/psp/v1/chaos', p, key)));
      expect(answers.map((a) => a.status)).toEqual(patches.map(() => 200));
      expect((await http(t.url, 'GET', '/psp/v1/chaos', undefined, key)).body).toEqual(Object.assign({}, ...patches));
    } finally {
      await http(t.url, 'DELETE', '/psp/v1/chaos', undefined, key);
      await t.close();
    }
  });
});

describe('PSP chaos settings, against the real app', () => {
  it('duplicateRate 1: every event is POSTed twice; the shop stores it once and answers 200 to the second', async () => {
    const { t, answers, close } = await appBehindProxy();
    try {
      await http(t.url, 'PUT', '/psp/v1/chaos', { duplicateRate: 1 }, psp);
      const { payment } = await paidOrder(t);
      await waitFor('both POSTs', () => Promise.resolve(answers.length === 2));
      const [event] = await t.db.query(`SELECT id FROM psp_events WHERE payment_id = $1`, [payment.pspPaymentId]);
      expect(answers.map((a) => [a.eventId, a.status])).toEqual([
        [event.id, 202],
        [event.id, 200],
      ]);
      const inbox = await t.db.query(`SELECT count(*)::int AS n FROM webhook_inbox WHERE event_id = $1`, [event.id]);
      expect(inbox[0].n).toBe(1);
      const resolved = await t.db.query(
        `SELECT count(*)::int AS n FROM payment_timeline WHERE payment_id = $1 AND type = 'resolved'`,
        [payment.id],
      );
      expect(resolved[0].n).toBe(1);
      expect(await deliveryCount(t, 'duplicated')).toBe(1);
    } finally {
      await close();
    }
  });

  it('tamperRate 1: the first attempt is wrongly signed and rejected with 401, the retry is valid and applied', async () => {
    const { t, answers, close } = await appBehindProxy();
    try {
      await http(t.url, 'PUT', '/psp/v1/chaos', { tamperRate: 1 }, psp);
      const { payment } = await paidOrder(t);
      await waitFor('two attempts answered', () => Promise.resolve(answers.length >= 2));
      expect(answers.map((a) => [a.valid, a.status])).toEqual([
        [false, 401],
        [true, 202],
      ]);
      const event = await waitFor('the PSP to record the delivery', async () => {
        const [row] = await t.db.query(
          `SELECT id, delivery_status, delivery_attempts FROM psp_events WHERE payment_id = $1`,
          [payment.pspPaymentId],
        );
        return row?.delivery_status === 'delivered' ? row : undefined;
      });
      expect(event).toMatchObject({ delivery_status: 'delivered', delivery_attempts: 2 });
      const inbox = await t.db.query(`SELECT event_id FROM webhook_inbox WHERE payload->'data'->>'payment_id' = $1`, [
        payment.pspPaymentId,
      ]);
      expect(inbox.map((r: { event_id: string }) => r.event_id)).toEqual([event.id]);
      expect(await deliveryCount(t, 'tampered')).toBe(1);
      expect(await deliveryCount(t, 'tampered_accepted')).toBe(0);
    } finally {
      await close();
    }
  });

  describe('timing knobs (a sink as the callback URL, settled by hand)', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({ PSP_SETTLE_DELAY_MIN_MS: '3600000', PSP_SETTLE_DELAY_MAX_MS: '3600000' });
      await http(t.url, 'DELETE', '/psp/v1/chaos', undefined, psp);
    });
    afterAll(async () => {
      await t.close();
    });
    afterEach(async () => {
      await http(t.url, 'DELETE', '/psp/v1/chaos', undefined, psp);
    });

    const createPsp = async (callbackUrl: string) =>
      (await http(t.url, 'POST', '/psp/v1/payments', { amount: 700, currency: 'EUR', callback_url: callbackUrl }, psp))
        .body as { id: string };

    it('deliveryDelayMs: the delivery happens no earlier than min', async () => {
      const arrived: number[] = [];
      const sink = await startSink(() => {
        arrived.push(Date.now());
        return Promise.resolve({ status: 200 });
      });
      try {
        await http(t.url, 'PUT', '/psp/v1/chaos', { deliveryDelayMs: { min: 800, max: 900 } }, psp);
        const p = await createPsp(`${sink.url}/hook`);
        const settledAt = Date.now();
        await t.app.get(PspMockService).settle(p.id);
        await waitFor('the delivery', () => Promise.resolve(arrived.length === 1), { timeoutMs: 5000 });
        expect(arrived[0] - settledAt).toBeGreaterThanOrEqual(800);
        expect(await deliveryCount(t, 'delayed')).toBeGreaterThanOrEqual(1);
      } finally {
        await sink.close();
      }
    });

    it('reorderRate 1: a held-back delivery arrives after one settled later', async () => {
      const order: string[] = [];
      const sink = await startSink((req) => {
        order.push((JSON.parse(req.body) as { data: { payment_id: string } }).data.payment_id);
        return Promise.resolve({ status: 200 });
      });
      try {
        const first = await createPsp(`${sink.url}/hook`);
        const second = await createPsp(`${sink.url}/hook`);
        await http(t.url, 'PUT', '/psp/v1/chaos', { reorderRate: 1 }, psp);
        await t.app.get(PspMockService).settle(first.id);
        await http(t.url, 'PUT', '/psp/v1/chaos', { reorderRate: 0 }, psp);
        await t.app.get(PspMockService).settle(second.id);
        await waitFor('both deliveries', () => Promise.resolve(order.length === 2), { timeoutMs: 6000 });
        expect(order).toEqual([second.id, first.id]);
        expect(await deliveryCount(t, 'reordered')).toBe(1);
      } finally {
        await sink.close();
      }
    });

    it('tamperRate 1 with a sink that verifies: first attempt invalid, a later attempt valid', async () => {
      const sink = await startSink((req) => Promise.resolve({ status: validSignature(req) ? 200 : 401 }));
      try {
        await http(t.url, 'PUT', '/psp/v1/chaos', { tamperRate: 1 }, psp);
        const p = await createPsp(`${sink.url}/hook`);
        await t.app.get(PspMockService).settle(p.id);
        await waitFor('a valid delivery', () => Promise.resolve(sink.requests.some(validSignature)), {
          timeoutMs: 5000,
        });
        expect(sink.requests.map(validSignature)).toEqual([false, true]);
        const [a, b] = sink.requests;
        expect(a.headers['webhook-id']).toBe(b.headers['webhook-id']);
        expect(a.body).not.toBe(b.body);
        expect(a.body.length).toBe(b.body.length);
      } finally {
        await sink.close();
      }
    });

    it('Retry-After on 429: the next attempt is not earlier than Retry-After', async () => {
      const at: number[] = [];
      const sink = await startSink((_req, n) => {
        at.push(Date.now());
        return Promise.resolve(n === 1 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 });
      });
      try {
        const p = await createPsp(`${sink.url}/hook`);
        await t.app.get(PspMockService).settle(p.id);
        await waitFor('the second attempt', () => Promise.resolve(at.length === 2), { timeoutMs: DELAYED_JOB_WAIT_MS });
        // PSP_DELIVERY_BACKOFF_MS is 50 ms in tests: only Retry-After explains the wait.
        expect(at[1] - at[0]).toBeGreaterThanOrEqual(1000);
        await waitFor(
          'delivered',
          async () =>
            (await t.db.query(`SELECT delivery_status FROM psp_events WHERE payment_id = $1`, [p.id]))[0]
              ?.delivery_status === 'delivered',
        );
      } finally {
        await sink.close();
      }
    });

    it('Retry-After as an HTTP date on 503 is honoured too', async () => {
      const at: number[] = [];
      const sink = await startSink((_req, n) => {
        at.push(Date.now());
        // An HTTP date has whole seconds: 2 s ahead is at least 1 s ahead.
        return Promise.resolve(
          n === 1
            ? { status: 503, headers: { 'retry-after': new Date(Date.now() + 2000).toUTCString() } }
            : { status: 200 },
        );
      });
      try {
        const p = await createPsp(`${sink.url}/hook`);
        await t.app.get(PspMockService).settle(p.id);
        await waitFor('the second attempt', () => Promise.resolve(at.length === 2), { timeoutMs: DELAYED_JOB_WAIT_MS });
        expect(at[1] - at[0]).toBeGreaterThanOrEqual(1000);
      } finally {
        await sink.close();
      }
    });
  });
});
