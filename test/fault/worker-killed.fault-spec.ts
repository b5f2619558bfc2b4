import type { Client } from 'pg';
import { QUEUE_LOCK_DURATION_MS, QUEUE_STALLED_INTERVAL_MS } from '../../src/app.module.js';
import { INBOX_MERGE_IN_FLIGHT } from '../../src/webhooks/inbound/inbox-applier.js';
import {
  backendPid,
  blockedBy,
  createPayments,
  mapLimit,
  paymentOutcomes,
  testDb,
  type CreatedPayment,
} from '../utils/fault-kit.js';
import { rawRequest } from '../utils/raw-http.js';
import { pspEvent } from '../factories/psp-events.factory.js';
import { signWebhook } from '../utils/sign-webhook.js';
import { spawnApp, testRedisPrefix, type SpawnedApp } from '../utils/spawn-app.js';
import { waitFor } from '../utils/wait-for.js';

const N = 300;
const HALF = N / 2;

/**
 * A worker SIGKILLed while it applies a burst of webhook events. To kill it in the
 * middle deterministically, the test holds row locks on the payments of the second
 * half: the worker applies what it can, then its applying transactions (at least
 * INBOX_MERGE_IN_FLIGHT, more while full batches of jobs wait, each holding several
 * jobs) block on those locks — and it is killed there. A second worker must apply
 * everything exactly once: the jobs that were waiting at once, the ones the dead worker
 * held after Bull's stalled-job recovery.
 */
describe('worker killed (SIGKILL) in the middle of a burst', () => {
  const procs: SpawnedApp[] = [];
  let db: Client;
  let locker: Client | undefined;

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
    await locker?.end().catch(() => undefined);
    await db?.end();
  });

  it(`applies every one of ${N} events exactly once after a restart`, async () => {
    const REDIS_PREFIX = testRedisPrefix();
    // Nothing settles or falls back to polling during the test: the events the test posts are the only results.
    const quiet = {
      REDIS_PREFIX,
      PSP_SETTLE_DELAY_MIN_MS: '3600000',
      PSP_SETTLE_DELAY_MAX_MS: '3600000',
      WEBHOOK_DEADLINE_MS: '3600000',
    };
    const psp = await spawnApp('psp', quiet);
    procs.push(psp);
    db = await testDb(); // created (and migrated) by the first process
    await db.query(`DELETE FROM psp_settings`);
    const api = await spawnApp('api', { ...quiet, PSP_BASE_URL: psp.url });
    procs.push(api);

    const payments = await createPayments(api.url, N);
    const ids = payments.map((p) => p.paymentId);
    const [unlocked, locked] = [payments.slice(0, HALF), payments.slice(HALF)];

    locker = await testDb();
    const lockerPid = await backendPid(locker);
    await locker.query('BEGIN');
    await locker.query(`SELECT id FROM payments WHERE id = ANY($1::uuid[]) FOR UPDATE`, [
      locked.map((p) => p.paymentId),
    ]);

    // No worker yet: the receiver stores and queues. The unlocked half first (FIFO queue).
    const post = (p: CreatedPayment) => {
      const signed = signWebhook(
        pspEvent({
          pspPaymentId: p.pspPaymentId,
          paymentId: p.paymentId,
          orderId: p.orderId,
          amount: p.amount,
          currency: p.currency,
        }),
      );
      return rawRequest(`${api.url}/webhooks/psp`, { method: 'POST', headers: signed.headers, body: signed.body });
    };
    for (const half of [unlocked, locked]) {
      const answers = await mapLimit(half, 8, post);
      expect(answers.map((a) => (a.ok ? a.status : a.code))).toEqual(Array(half.length).fill(202));
    }

    const w1 = await spawnApp('worker', { ...quiet, PSP_BASE_URL: psp.url, PUBLIC_BASE_URL: api.url });
    procs.push(w1);
    const processed = async () =>
      (
        await db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM webhook_inbox WHERE processed_at IS NOT NULL AND payload->'data'->'metadata'->>'paymentId' = ANY($1::text[])`,
          [ids],
        )
      ).rows[0].n;
    const blockedByLocker = () => blockedBy(db, lockerPid);
    const busyBackends = async () =>
      (
        await db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND backend_type = 'client backend'
              AND pid NOT IN (pg_backend_pid(), $1) AND state <> 'idle'`,
          [lockerPid],
        )
      ).rows[0].n;
    await waitFor(
      `at least ${INBOX_MERGE_IN_FLIGHT} applying transactions blocked mid-transaction`,
      async () => (await blockedByLocker()) >= INBOX_MERGE_IN_FLIGHT,
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    // Killed with transactions blocked; another, not blocked, may still commit until the
    // kill, so what the dead worker applied is counted once its only backends left are
    // the ones waiting on the test's locks (a commit sent before the kill ends first).
    await w1.stop('SIGKILL');
    await waitFor(
      "the dead worker's backends gone but the blocked ones",
      async () => {
        const [busy, blockedNow] = [await busyBackends(), await blockedByLocker()];
        return busy === blockedNow;
      },
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    const before = await processed();
    // Some of the unlocked half applied, none of the locked half (a blocked transaction may hold unlocked rows too).
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThanOrEqual(HALF);
    // Its blocked transactions go on once the locks are released, find the client gone and
    // end without committing: nothing more is applied.
    await locker.query('ROLLBACK');
    await locker.end();
    locker = undefined;
    await waitFor("the dead worker's backends gone", async () => (await busyBackends()) === 0, {
      timeoutMs: 30_000,
      intervalMs: 50,
    });
    expect(await processed()).toBe(before);

    const w2 = await spawnApp('worker', { ...quiet, PSP_BASE_URL: psp.url, PUBLIC_BASE_URL: api.url });
    procs.push(w2);
    await waitFor(`all ${N} events applied`, async () => (await processed()) === N, {
      timeoutMs: 2 * QUEUE_LOCK_DURATION_MS + 2 * QUEUE_STALLED_INTERVAL_MS + 10_000,
      intervalMs: 200,
    });

    const inbox = await db.query<{ status: string; attempts: number; n: number }>(
      `SELECT status, count(*)::int AS n FROM webhook_inbox
        WHERE payload->'data'->'metadata'->>'paymentId' = ANY($1::text[]) GROUP BY status`,
      [ids],
    );
    expect(inbox.rows).toEqual([{ status: 'processed', n: N }]);
    const outcomes = await paymentOutcomes(db, ids);
    expect(outcomes).toHaveLength(N);
    const summary = (rows: typeof outcomes) =>
      rows.map((r) => `${r.status}/${r.resolved_via}/${r.order_status}/${r.resolved_entries}`);
    expect(new Set(summary(outcomes))).toEqual(new Set(['succeeded/webhook/paid/1']));
  }, 150_000);
});
