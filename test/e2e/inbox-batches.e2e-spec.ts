import { http } from '../factories/orders.factory.js';
import { createTestApp, type TestApp } from '../utils/create-test-app.js';
import { PAYMENTS_STAY_PROCESSING, processingPayment, type ProcessingPayment } from '../factories/payments.factory.js';
import { pspEventFor } from '../factories/psp-events.factory.js';
import { InboxApplier } from '../../src/webhooks/inbound/inbox-applier.js';
import { InboxRepository } from '../../src/webhooks/inbound/inbox.repository.js';
import { WebhookHandlerRegistry } from '../../src/webhooks/inbound/webhook-handler.js';
import { PinoLogger } from 'nestjs-pino';
import { captureOutput, jsonLines } from '../utils/capture-output.js';
import { Client } from 'pg';
import { TEST_DATABASE_URL } from '../utils/test-env.js';
import { waitFor } from '../utils/wait-for.js';

/**
 * The inbox processor applies a job's rows together: one transaction, the events in
 * the order received, each row exactly once in effect. Rows are written straight into
 * the inbox (as the receiver stores them) and applied through InboxApplier.process,
 * which is what the queue's processor calls with a job's ids. The PSP mock's own
 * settlement is pushed an hour out so that only these events touch the payments.
 */
describe('Inbox batches', () => {
  let t: TestApp;
  let inbox: InboxApplier;

  beforeAll(async () => {
    t = await createTestApp({
      ...PAYMENTS_STAY_PROCESSING,
      // Only InboxApplier.process applies these rows; the sweeper stays out of it.
      INBOX_SWEEP_STALE_MS: '3600000',
      // A failed row's own retry job waits an hour: only these calls apply the rows.
      INBOX_RETRY_BACKOFF_MS: '3600000',
      INBOX_RETRY_BACKOFF_MAX_MS: '3600000',
    });
    inbox = t.app.get(InboxApplier);
    // A second source whose handler refuses events marked `fail`: a bug in one event.
    t.app.get(WebhookHandlerRegistry).register('batch-test', {
      handle: (_manager, events) => {
        if (events.some((e) => e.payload.fail)) throw new Error('handler refused event');
        return Promise.resolve(events.map(() => ({ outcome: 'applied' as const, note: 'noted' })));
      },
    });
  });
  afterAll(async () => {
    // No other app's sweeper may meet a row of a source only this test can apply.
    await t.db.query(`DELETE FROM webhook_inbox WHERE source = 'batch-test'`);
    await t.close();
  });

  const eventFor = (p: ProcessingPayment, type = 'payment.completed') => pspEventFor(p, { type });

  /** Stores events as received `msApart` ms apart, in the order given; returns their row ids. */
  async function store(events: { source?: string; body: Record<string, unknown> }[], msApart = 10): Promise<string[]> {
    const t0 = Date.now() - 60_000;
    const ids: string[] = [];
    for (const [i, e] of events.entries()) {
      const [row] = await t.db.query<{ id: string }[]>(
        `INSERT INTO webhook_inbox (source, event_id, event_type, payload, received_at, verified_at)
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING id`,
        [e.source ?? 'psp', e.body.event_id, e.body.type, JSON.stringify(e.body), new Date(t0 + i * msApart)],
      );
      ids.push(row.id);
    }
    return ids;
  }
  const rows = (ids: string[]) =>
    t.db.query<{ id: string; status: string; outcome: string | null; attempts: number; last_error: string | null }[]>(
      `SELECT id, status, outcome, attempts, last_error FROM webhook_inbox WHERE id = ANY($1::uuid[])`,
      [ids],
    );
  const get = async (path: string) => (await http(t.url, 'GET', path)).body;
  /** The app's output while `run` goes on, with info lines on (the test app logs errors only). */
  async function atInfo(run: () => Promise<void>): Promise<string> {
    const level = PinoLogger.root.level;
    PinoLogger.root.level = 'info';
    try {
      return await captureOutput(run);
    } finally {
      PinoLogger.root.level = level;
    }
  }

  it('applies a job’s events in the order received, whatever the job’s order, and skips rows already processed', async () => {
    const a = await processingPayment(t.url);
    const b = await processingPayment(t.url);
    const [completedA, failedA, completedB] = await store([
      { body: eventFor(a) },
      { body: eventFor(a, 'payment.failed') },
      { body: eventFor(b) },
    ]);
    const [done] = await store([{ body: eventFor(b) }]);
    await t.db.query(`UPDATE webhook_inbox SET status = 'processed', processed_at = now() WHERE id = $1`, [done]);

    const summary = await inbox.process([failedA, completedB, done, completedA]);

    expect(summary).toEqual({ processed: 2, ignored: 1, skipped: 1 });
    const byId = new Map((await rows([completedA, failedA, completedB])).map((r) => [r.id, r]));
    expect(byId.get(completedA)).toMatchObject({ status: 'processed', outcome: 'payment succeeded', attempts: 1 });
    expect(byId.get(failedA)).toMatchObject({
      status: 'ignored',
      outcome: 'payment is succeeded; failed cannot move it to failed',
    });
    expect(byId.get(completedB)).toMatchObject({ status: 'processed', attempts: 1 });
    expect((await get(`/orders/${a.order.id}`)).status).toBe('paid');
    expect((await get(`/orders/${b.order.id}`)).status).toBe('paid');
    const timelineA = (await get(`/payments/${a.payment.id}`)).timeline as { type: string }[];
    expect(timelineA.map((e) => e.type).slice(-5)).toEqual([
      'webhook_received',
      'resolved',
      'order_updated',
      'webhook_received',
      'ignored',
    ]);
    // One order.paid message per paid order, written in the same transaction.
    const [{ n }] = await t.db.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM webhook_messages WHERE owner = 'shop' AND event_type = 'order.paid'
          AND payload->'data'->>'order_id' = ANY($1)`,
      [[a.order.id, b.order.id]],
    );
    expect(n).toBe(2);
  });

  it('applies the rest of a batch when one event fails, and records the failure on that row alone', async () => {
    const p = await processingPayment(t.url);
    const ids = await store([
      { body: eventFor(p) },
      { source: 'batch-test', body: { event_id: `evt_bad_${p.payment.id}`, type: 'test.event', fail: true } },
      { source: 'batch-test', body: { event_id: `evt_ok_${p.payment.id}`, type: 'test.event' } },
    ]);

    const logs = await atInfo(async () => {
      // The failed row is the row's to retry (a delayed job of its own), not the job's.
      expect(await inbox.process(ids)).toEqual({ processed: 2, ignored: 0, skipped: 0, retrying: 1, dead: 0 });
    });
    // The first attempt (all three rows) rolled back: only the attempt that committed tells.
    const told = (pattern: RegExp) => jsonLines(logs).filter((l) => pattern.test(String(l.msg)));
    expect(told(new RegExp(`^Payment ${p.payment.id} .* processing → succeeded via webhook`))).toHaveLength(1);
    expect(told(new RegExp(`^Order ${p.order.id} pending_payment → paid`))).toHaveLength(1);
    expect(told(new RegExp(`^Inbox ${ids[0]} .* processed: payment succeeded`))).toHaveLength(1);
    expect(told(new RegExp(`^Inbox ${ids[2]} .* processed: noted`))).toHaveLength(1);

    const byId = new Map((await rows(ids)).map((r) => [r.id, r]));
    expect(byId.get(ids[0])).toMatchObject({ status: 'processed', attempts: 1, last_error: null });
    expect(byId.get(ids[1])).toMatchObject({ status: 'received', attempts: 1, last_error: 'handler refused event' });
    expect(byId.get(ids[2])).toMatchObject({ status: 'processed', outcome: 'noted' });
    expect((await get(`/orders/${p.order.id}`)).status).toBe('paid');

    // The job's retry finds the good rows done and fails again on the bad one only.
    expect(await inbox.process(ids)).toEqual({ processed: 0, ignored: 0, skipped: 2, retrying: 1, dead: 0 });
    expect((await rows([ids[1]]))[0].attempts).toBe(2);
  });

  it('applies each row once when jobs holding the same rows run at the same time', async () => {
    const payments = await Promise.all(Array.from({ length: 6 }, () => processingPayment(t.url)));
    const ids = await store(payments.map((p) => ({ body: eventFor(p) })));
    const results = await Promise.all([
      inbox.process(ids),
      inbox.process([...ids].reverse()),
      inbox.process(ids.slice(2, 5)),
    ]);
    expect(results.reduce((sum, r) => sum + r.processed, 0)).toBe(6);
    expect(results.reduce((sum, r) => sum + r.skipped, 0)).toBe(3 + 6 + 6 - 6);
    for (const p of payments) {
      const timeline = (await get(`/payments/${p.payment.id}`)).timeline as { type: string }[];
      expect(timeline.filter((e) => e.type === 'resolved')).toHaveLength(1);
    }
  });

  it('lets jobs that run at the same time share one transaction, and a failing job there fail alone', async () => {
    const payments = await Promise.all(Array.from({ length: 3 }, () => processingPayment(t.url)));
    const jobs = await Promise.all(payments.map(async (p) => store([{ body: eventFor(p) }])));
    // The inbox's applying transactions (each locks its rows once), not the app's others.
    const transaction = jest.spyOn(t.app.get(InboxRepository), 'lockRows');
    try {
      const summaries = await Promise.all(jobs.map((ids) => inbox.process(ids)));
      expect(summaries).toEqual(jobs.map(() => ({ processed: 1, ignored: 0, skipped: 0 })));
      expect(transaction).toHaveBeenCalledTimes(1);
      expect(transaction).toHaveBeenCalledWith(expect.anything(), jobs.flat(), expect.anything());

      const more = await Promise.all(Array.from({ length: 2 }, () => processingPayment(t.url)));
      const [good1] = await store([{ body: eventFor(more[0]) }]);
      const [bad] = await store([
        { source: 'batch-test', body: { event_id: `evt_bad_${more[0].payment.id}`, type: 'test.event', fail: true } },
      ]);
      const [good2] = await store([{ body: eventFor(more[1]) }]);
      transaction.mockClear();
      const results = await Promise.allSettled([good1, bad, good2].map((id) => inbox.process([id])));
      expect(results.map((r) => r.status === 'fulfilled' && r.value)).toEqual([
        { processed: 1, ignored: 0, skipped: 0 },
        { processed: 0, ignored: 0, skipped: 0, retrying: 1, dead: 0 },
        { processed: 1, ignored: 0, skipped: 0 },
      ]);
      // The shared transaction, then each job alone.
      expect(transaction).toHaveBeenCalledTimes(4);
      const byId = new Map((await rows([good1, bad, good2])).map((r) => [r.id, r]));
      expect(byId.get(good1)).toMatchObject({ status: 'processed', attempts: 1 });
      expect(byId.get(good2)).toMatchObject({ status: 'processed', attempts: 1 });
      expect(byId.get(bad)).toMatchObject({ status: 'received', attempts: 1, last_error: 'handler refused event' });
    } finally {
      transaction.mockRestore();
    }
  });

  it('locks the payments an event names in the statement that locks its inbox row, after the row', async () => {
    const p = await processingPayment(t.url);
    const [id] = await store([{ body: eventFor(p) }]);
    const holder = new Client({ connectionString: TEST_DATABASE_URL });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT 1 FROM payments WHERE id = $1 FOR UPDATE`, [p.payment.id]);
      const applying = inbox.process([id]);
      // The applier waits for the payment in its first statement, which has locked the row.
      const [waiting] = await waitFor('the applier to wait for the payment', async () => {
        const rows = await t.db.query<{ query: string }[]>(
          `SELECT query FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%inbox_locked%'`,
        );
        return rows.length > 0 ? rows : undefined;
      });
      expect(waiting.query).toMatch(/FROM payments/);
      await expect(
        holder.query(`SELECT 1 FROM webhook_inbox WHERE id = $1 FOR UPDATE NOWAIT`, [id]),
      ).rejects.toMatchObject({ code: '55P03' });
      await holder.query('ROLLBACK');
      expect(await applying).toEqual({ processed: 1, ignored: 0, skipped: 0 });
    } finally {
      await holder.end();
    }
    expect((await get(`/orders/${p.order.id}`)).status).toBe('paid');
  });

  it('applies a batch where one order has two outcomes in turn, and marks its rows', async () => {
    // Two payments of one order resolving in one batch: not made by the API (one payment
    // of an order processing at a time), so made here without that index.
    const [a, b] = [await processingPayment(t.url), await processingPayment(t.url)];
    await t.db.query(`DROP INDEX idx_payments_one_processing`);
    try {
      await t.db.query(`UPDATE payments SET order_id = $1 WHERE id = $2`, [a.order.id, b.payment.id]);
      const ids = await store([{ body: eventFor(a) }, { body: eventFor(b, 'payment.failed') }]);
      const markApplied = jest.spyOn(t.app.get(InboxRepository), 'markApplied');
      try {
        expect(await inbox.process(ids)).toEqual({ processed: 2, ignored: 0, skipped: 0 });
        // The rows are marked in the statement of the payments' timeline, not one of their own.
        expect(markApplied).not.toHaveBeenCalled();
      } finally {
        markApplied.mockRestore();
      }
      const byId = new Map((await rows(ids)).map((r) => [r.id, r]));
      expect(byId.get(ids[0])).toMatchObject({ status: 'processed', outcome: 'payment succeeded', attempts: 1 });
      expect(byId.get(ids[1])).toMatchObject({ status: 'processed', outcome: 'payment failed', attempts: 1 });
      expect((await get(`/orders/${a.order.id}`)).status).toBe('paid');
      const [updated] = await t.db.query<{ detail: Record<string, unknown> }[]>(
        `SELECT detail FROM payment_timeline WHERE payment_id = $1 AND type = 'order_updated'`,
        [b.payment.id],
      );
      expect(updated.detail).toEqual({
        orderId: a.order.id,
        unchanged: 'paid',
        reason: 'order is paid; it cannot become payment_failed',
      });
    } finally {
      await t.db.query(
        `CREATE UNIQUE INDEX IF NOT EXISTS idx_payments_one_processing ON payments (order_id) WHERE status = 'processing'`,
      );
    }
  });
});
