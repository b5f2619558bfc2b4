import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { CountingClient, queryCounts } from '../../src/database/query-counter.js';
import { ChaosService } from '../../src/psp-mock/chaos.service.js';
import { PspMockService, type SettleJob } from '../../src/psp-mock/psp-mock.service.js';
import { QueueName } from '../../src/queue/queues.js';
import { InboxApplier } from '../../src/webhooks/inbound/inbox-applier.js';
import { createOrder, http, shopHeaders } from '../factories/orders.factory.js';
import { PAYMENTS_STAY_PROCESSING, processingPayment } from '../factories/payments.factory.js';
import { pspEventFor } from '../factories/psp-events.factory.js';
import { createTestApp, type TestApp } from '../utils/create-test-app.js';
import { PSP_KEY, TEST_DATABASE_URL } from '../utils/test-env.js';
import { waitFor } from '../utils/wait-for.js';

/** The statements and transactions behind hookline_db_queries_total, against the real PostgreSQL. */
describe('the database query counter', () => {
  // Before any app runs in this process: nothing else counts meanwhile, so each call's own increments are exact.
  it('counts every statement a pooled client sends, and a transaction once however many it holds', async () => {
    // A pool of its own: the app's background tasks send statements through theirs meanwhile.
    // (The maintenance database: the test database is created by the first app that boots.)
    const url = new URL(TEST_DATABASE_URL);
    url.pathname = '/postgres';
    const pool = new pg.Pool({ connectionString: url.toString(), max: 1, Client: CountingClient });
    const client = await pool.connect();
    try {
      const before = { ...queryCounts };
      const sent = async (fn: () => Promise<unknown>) => {
        const s = queryCounts.statements;
        const x = queryCounts.transactions;
        await fn();
        return [queryCounts.statements - s, queryCounts.transactions - x];
      };
      expect(await sent(() => client.query('SELECT 1'))).toEqual([1, 1]);
      expect(
        await sent(() => client.query({ name: 'hookline_test_counter', text: 'SELECT $1::int', values: [1] })),
      ).toEqual([1, 1]);
      expect(await sent(() => client.query('BEGIN'))).toEqual([1, 1]);
      expect(await sent(() => client.query('SELECT 2'))).toEqual([1, 0]);
      expect(await sent(() => client.query('COMMIT'))).toEqual([1, 0]);
      expect(await sent(() => client.query('SELECT 3'))).toEqual([1, 1]);
      expect(queryCounts.statements - before.statements).toBe(6);
    } finally {
      client.release();
      await pool.end();
    }
  });
});

describe('hookline_db_queries_total', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('counts what the app sends PostgreSQL, by role', async () => {
    const read = async () => {
      const text = await (await fetch(`${t.url}/metrics`)).text();
      const m = /^hookline_db_queries_total\{role="all"\} (\d+)$/m.exec(text);
      const x = /^hookline_db_transactions_total\{role="all"\} (\d+)$/m.exec(text);
      expect(m).not.toBeNull();
      expect(x).not.toBeNull();
      return [Number(m![1]), Number(x![1])];
    };
    const [statements, transactions] = await read();
    await t.db.query('SELECT 1');
    const [after, afterTx] = await read();
    expect(after).toBeGreaterThan(statements);
    expect(afterTx).toBeGreaterThan(transactions);
  });
});

/**
 * What one payment's steps send PostgreSQL (issue 22, target 4), as upper bounds: the
 * checkout bench measures them per process (docs/performance.md, "One payment end to end");
 * these fail when a cut is undone. A step's statements are the ones sent from its own
 * async context (AsyncLocalStorage): the app's periodic tasks, and the receiver and worker
 * that the PSP's webhook wakes in this same process, run in theirs.
 */
describe('statements per step of a payment', () => {
  const pspHeaders = { authorization: `Bearer ${PSP_KEY}`, 'content-type': 'application/json' };
  let t: TestApp;
  const step = new AsyncLocalStorage<string[]>();
  const counted = CountingClient.prototype.query;
  /** Every statement the app sends while set, whatever sends it (a request the app serves has no step). */
  let sent: string[] | null = null;

  beforeAll(async () => {
    // Settlements are made by the test itself, not by the PSP's delayed job.
    t = await createTestApp({
      ...PAYMENTS_STAY_PROCESSING,
      // Only the test applies the inbox rows it stores.
      INBOX_SWEEP_STALE_MS: '3600000',
    });
    (CountingClient.prototype as unknown as { query: (...args: unknown[]) => unknown }).query = function (
      this: pg.Client,
      ...args: unknown[]
    ) {
      const q = args[0] as string | { text?: string };
      const text = typeof q === 'string' ? q : (q?.text ?? '?');
      step.getStore()?.push(text);
      sent?.push(text);
      return (counted as (...a: unknown[]) => unknown).apply(this, args);
    };
  });
  afterAll(async () => {
    CountingClient.prototype.query = counted;
    await t.close();
  });

  /** The statements `fn` sends, and those of what it starts, until `done` holds. */
  async function statementsOf(fn: () => Promise<unknown>, done: () => Promise<boolean>): Promise<string[]> {
    const texts: string[] = [];
    await step.run(texts, fn);
    await waitFor('the step to finish', async () => (await done()) || undefined);
    return texts;
  }

  /**
   * Settles the payment now (not when the PSP's delayed job is due; with that job's data when
   * `fromJob`) and waits for its webhook to be delivered.
   */
  async function settle(pspPaymentId: string, fromJob = false): Promise<string[]> {
    const job = fromJob
      ? await t.app
          .get<Queue<SettleJob>>(getQueueToken(QueueName.PspSettlement), { strict: false })
          .getJob(pspPaymentId)
      : null;
    if (fromJob) expect(job?.data.payment).toMatchObject({ id: pspPaymentId });
    // Warm: the chaos settings are read at most once a second, whoever asks.
    await t.app.get(ChaosService).get();
    const texts = await statementsOf(
      () => t.app.get(PspMockService).settle(pspPaymentId, job?.data.payment),
      async () =>
        (
          await t.db.query(`SELECT 1 FROM psp_events WHERE payment_id = $1 AND delivery_status = 'delivered'`, [
            pspPaymentId,
          ])
        ).length > 0,
    );
    // On a busy machine the step can outlast that second and read them again (1 in about 9
    // runs): a cache refresh, not the settlement's own statement.
    return texts.filter((text) => !/\bFROM "?psp_settings"?/.test(text));
  }

  /** The statements sent while `fn` runs, `tries` times; the app's periodic tasks may add some to a try. */
  async function sentDuring(fn: () => Promise<void>): Promise<string[]> {
    sent = [];
    try {
      await fn();
      return sent;
    } finally {
      sent = null;
    }
  }

  /** The PSP's own statements (the PSP mock runs in this process, behind its HTTP API). */
  const isPsp = (sql: string) => /\bpsp_(payments|settings|events)\b/.test(sql);

  it('POST /orders with an Idempotency-Key: one statement, and a repeat one (the key is on the order)', async () => {
    const counts: number[][] = [];
    for (let i = 0; i < 3; i++) {
      const key = `count-${randomUUID()}`;
      const post = () =>
        http(
          t.url,
          'POST',
          '/orders',
          { currency: 'EUR', items: [{ sku: 'A', name: 'A', quantity: 1, unitAmount: 500 }] },
          { ...shopHeaders, 'idempotency-key': key },
        );
      let first: Awaited<ReturnType<typeof post>> | undefined;
      let again: Awaited<ReturnType<typeof post>> | undefined;
      const firstSent = await sentDuring(async () => void (first = await post()));
      const againSent = await sentDuring(async () => void (again = await post()));
      expect([first!.status, again!.status]).toEqual([201, 201]);
      expect(again!.headers.get('idempotency-replay')).toBe('true');
      expect(again!.body).toEqual(first!.body);
      counts.push([firstSent.length, againSent.length]);
    }
    // With IdempotencyInterceptor's claim and answer in idempotency_keys: 3 and 2.
    expect(Math.min(...counts.map((c) => c[0]))).toBeLessThanOrEqual(1);
    expect(Math.min(...counts.map((c) => c[1]))).toBeLessThanOrEqual(1);
  });

  it("POST /orders/:id/payments with an Idempotency-Key: two statements besides the PSP's, a repeat one", async () => {
    const counts: number[][] = [];
    for (let i = 0; i < 3; i++) {
      const order = await createOrder(t.url);
      const key = `count-${randomUUID()}`;
      const pay = () =>
        http(t.url, 'POST', `/orders/${order.id}/payments`, {}, { ...shopHeaders, 'idempotency-key': key });
      let first: Awaited<ReturnType<typeof pay>> | undefined;
      let again: Awaited<ReturnType<typeof pay>> | undefined;
      // Warm: the chaos settings are read at most once a second, whoever asks.
      await t.app.get(ChaosService).get();
      const firstSent = await sentDuring(async () => void (first = await pay()));
      const againSent = await sentDuring(async () => void (again = await pay()));
      expect([first!.status, again!.status]).toEqual([201, 201]);
      expect(again!.headers.get('idempotency-replay')).toBe('true');
      expect(again!.body).toEqual(first!.body);
      // The payment started (with its timeline entry and the key), the PSP's acceptance recorded.
      counts.push([firstSent.filter((q) => !isPsp(q)).length, firstSent.filter(isPsp).length, againSent.length]);
    }
    // With IdempotencyInterceptor's claim and answer in idempotency_keys: 4 and 2.
    expect(Math.min(...counts.map((c) => c[0]))).toBeLessThanOrEqual(2);
    // The PSP's create (its Idempotency-Key on its payment: decision 0026).
    expect(Math.min(...counts.map((c) => c[1]))).toBeLessThanOrEqual(1);
    expect(Math.min(...counts.map((c) => c[2]))).toBeLessThanOrEqual(1);
  });

  it("the PSP mock's create with an Idempotency-Key: one statement, and a repeat one more", async () => {
    // The least of three tries: the app's periodic tasks may send a statement meanwhile.
    const counts: number[][] = [];
    for (let i = 0; i < 3; i++) {
      const key = `count-${randomUUID()}`;
      const post = () =>
        http(
          t.url,
          'POST',
          '/psp/v1/payments',
          { amount: 500, currency: 'EUR' },
          { ...pspHeaders, 'idempotency-key': key },
        );
      const before = queryCounts.statements;
      const first = await post();
      const afterFirst = queryCounts.statements;
      const again = await post();
      expect([first.status, again.status]).toEqual([201, 201]);
      expect(again.headers.get('idempotency-replay')).toBe('true');
      expect(again.body).toEqual(first.body);
      counts.push([afterFirst - before, queryCounts.statements - afterFirst]);
    }
    expect(Math.min(...counts.map((c) => c[0]))).toBeLessThanOrEqual(1);
    expect(Math.min(...counts.map((c) => c[1]))).toBeLessThanOrEqual(1);
  });

  it("the worker applying one payment's webhook: one transaction of at most 4 statements", async () => {
    const p = await processingPayment(t.url);
    const event = pspEventFor(p, { type: 'payment.completed' });
    // Stored as the receiver stores it, not enqueued: only this call applies it.
    const [row] = await t.db.query<{ id: string }[]>(
      `INSERT INTO webhook_inbox (source, event_id, event_type, payload, received_at, verified_at)
       VALUES ('psp', $1, $2, $3, now(), now()) RETURNING id`,
      [event.event_id, event.type, JSON.stringify(event)],
    );
    const before = (await http(t.url, 'GET', `/orders/${p.order.id}`)).body.status as string;
    const texts: string[] = [];
    const summary = await step.run(texts, () => t.app.get(InboxApplier).process([row.id]));
    expect(summary).toEqual({ processed: 1, ignored: 0, skipped: 0 });
    // BEGIN, the inbox row and its payment locked, then one statement: the order locked,
    // moved and its order.paid message written, the payment moved with its timeline, the
    // row marked; COMMIT (docs/decisions/0033-worker-apply-in-two-statements.md).
    expect(texts.length).toBeLessThanOrEqual(4);
    expect(texts.filter((s) => /^\s*(BEGIN|START TRANSACTION)/i.test(s))).toHaveLength(1);
    expect((await http(t.url, 'GET', `/orders/${p.order.id}`)).body.status).toBe('paid');
    const messages = await t.db.query(`SELECT payload FROM webhook_messages WHERE payload->'data'->>'order_id' = $1`, [
      p.order.id,
    ]);
    expect(messages).toHaveLength(1);
    expect(messages[0].payload).toMatchObject({
      type: 'order.paid',
      data: { order_id: p.order.id, status: 'paid', amount: p.order.amount, currency: p.order.currency },
    });
    expect(messages[0].payload.data.paid_at).toBe(messages[0].payload.created_at);
    const timeline = (await http(t.url, 'GET', `/payments/${p.payment.id}`)).body.timeline as { type: string }[];
    expect(timeline.map((e) => e.type)).toEqual([
      'created',
      'psp_accepted',
      'webhook_received',
      'resolved',
      'order_updated',
    ]);
    // The order_updated detail, written by that statement from what became of the order.
    const [entry] = await t.db.query<{ detail: Record<string, unknown> }[]>(
      `SELECT detail FROM payment_timeline WHERE payment_id = $1 AND type = 'order_updated'`,
      [p.payment.id],
    );
    expect(entry.detail).toEqual({ orderId: p.order.id, from: before, to: 'paid' });
    const [inbox] = await t.db.query<{ status: string; outcome: string; attempts: number }[]>(
      `SELECT status, outcome, attempts FROM webhook_inbox WHERE id = $1 AND processed_at IS NOT NULL`,
      [row.id],
    );
    expect(inbox).toEqual({ status: 'processed', outcome: 'payment succeeded', attempts: 1 });
  });

  it('settling a PSP payment from its job and sending its webhook: at most 2 statements', async () => {
    await settle((await processingPayment(t.url)).payment.pspPaymentId);
    const { payment } = await processingPayment(t.url);
    // The job carries the payment as created: no read. The settlement, and its success with the
    // PSP event's delivery state (3 when the PSP event's state was a statement of its own).
    expect((await settle(payment.pspPaymentId, true)).length).toBeLessThanOrEqual(2);
  });

  it('settling a PSP payment and sending its webhook: at most 3 statements, no transaction', async () => {
    // The callback URL's first use makes its endpoint (two statements more, once).
    await settle((await processingPayment(t.url)).payment.pspPaymentId);
    const { order, payment } = await processingPayment(t.url);
    const texts = await settle(payment.pspPaymentId);
    // The payment read, the settlement with its event, message and deliveries (which answers
    // the callback delivery as its attempt needs it), and its success with the PSP event's delivery state.
    expect(texts.length).toBeLessThanOrEqual(3);
    expect(texts.filter((s) => /^\s*(BEGIN|START TRANSACTION)/i.test(s))).toEqual([]);
    await waitFor('the order to be paid', async () =>
      (await t.db.query(`SELECT 1 FROM orders WHERE id = $1 AND status = 'paid'`, [order.id])).length > 0
        ? true
        : undefined,
    );
  });
});
