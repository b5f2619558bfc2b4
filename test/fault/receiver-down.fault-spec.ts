import type { Client } from 'pg';
import { createPayments, paymentOutcomes, testDb } from '../utils/fault-kit.js';
import { rawRequest } from '../utils/raw-http.js';
import { spawnApp, testRedisPrefix, type SpawnedApp } from '../utils/spawn-app.js';
import { waitFor } from '../utils/wait-for.js';

const N = 40;
const DOWN_MS = 7000;

/**
 * The shop's receiver (its api process) is stopped while the PSP settles payments and
 * comes back on the same address some seconds later. The PSP's deliveries fail
 * (connection refused) and are retried with backoff; the worker's fallback poll
 * (WEBHOOK_DEADLINE_MS) resolves the payments whose retries have not come round yet.
 * Every payment ends final, through one of the two, once.
 */
describe('receiver down for a while', () => {
  const procs: SpawnedApp[] = [];
  let db: Client | undefined;
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
    await db?.end();
  });

  it('loses no payment: PSP retries and fallback polling resolve each exactly once', async () => {
    const REDIS_PREFIX = testRedisPrefix();
    const psp = await spawnApp('psp', {
      REDIS_PREFIX,
      PSP_SETTLE_DELAY_MIN_MS: '4000',
      PSP_SETTLE_DELAY_MAX_MS: '5500',
      PSP_DELIVERY_BACKOFF_MS: '500',
    });
    procs.push(psp);
    db = await testDb();
    await db.query(`DELETE FROM psp_settings`);
    const shop = { REDIS_PREFIX, PSP_BASE_URL: psp.url, WEBHOOK_DEADLINE_MS: '8000' };
    let api = await spawnApp('api', shop);
    procs.push(api);
    const worker = await spawnApp('worker', { ...shop, PUBLIC_BASE_URL: api.url });
    procs.push(worker);

    const payments = await createPayments(api.url, N);
    const ids = payments.map((p) => p.paymentId);
    const stopped = await api.stop('SIGTERM');
    expect(stopped).toEqual({ code: 0, signal: null });
    const settledBeforeStop = (
      await db.query(
        `SELECT count(*)::int AS n FROM psp_payments WHERE id = ANY($1::text[]) AND settled_at IS NOT NULL`,
        [payments.map((p) => p.pspPaymentId)],
      )
    ).rows[0].n;
    expect(settledBeforeStop).toBe(0); // every result is to be delivered while the receiver is down

    // Down until every delivery was tried, and failed (DOWN_MS at most).
    const tried = async () =>
      (
        await db!.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM psp_events WHERE payment_id = ANY($1::text[]) AND delivery_attempts > 0`,
          [payments.map((p) => p.pspPaymentId)],
        )
      ).rows[0].n;
    await waitFor('every PSP delivery tried while the receiver is down', async () => (await tried()) === N, {
      timeoutMs: DOWN_MS,
      intervalMs: 250,
    });
    expect((await rawRequest(`${api.url}/health/live`)).ok).toBe(false);

    api = await spawnApp('api', shop, { port: api.port });
    procs.push(api);

    const outcomes = await waitFor(
      `${N} payments final and every PSP event delivered`,
      async () => {
        const delivered = await db!.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM psp_events WHERE payment_id = ANY($1::text[]) AND delivery_status = 'delivered'`,
          [payments.map((p) => p.pspPaymentId)],
        );
        const unprocessed = await db!.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM webhook_inbox
            WHERE processed_at IS NULL AND payload->'data'->'metadata'->>'paymentId' = ANY($1::text[])`,
          [ids],
        );
        const rows = await paymentOutcomes(db!, ids);
        return delivered.rows[0].n === N && unprocessed.rows[0].n === 0 && rows.every((r) => r.status !== 'processing')
          ? rows
          : undefined;
      },
      { timeoutMs: 40_000, intervalMs: 250 },
    );
    expect(outcomes).toHaveLength(N);
    for (const r of outcomes) {
      expect({ status: r.status, order: r.order_status, resolvedEntries: r.resolved_entries }).toEqual({
        status: 'succeeded',
        order: 'paid',
        resolvedEntries: 1,
      });
      expect(['webhook', 'fallback_poll']).toContain(r.resolved_via);
    }
  }, 120_000);
});
