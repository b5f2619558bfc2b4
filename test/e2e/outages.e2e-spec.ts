import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import { Redis } from 'ioredis';
import type { ApplyInboxJob } from '../../src/webhooks/inbound/inbox-queue.js';
import { QueueName } from '../../src/queue/queues.js';
import { createTestApp, type TestApp } from '../utils/create-test-app.js';
import { PAYMENTS_STAY_PROCESSING, processingPayment } from '../factories/payments.factory.js';
import { postPspEvent, pspEvent, pspEventFor } from '../factories/psp-events.factory.js';
import { signWebhook } from '../utils/sign-webhook.js';
import { startTcpProxy } from '../utils/tcp-proxy.js';
import { TEST_DATABASE_URL, TEST_REDIS_URL } from '../utils/test-env.js';
import { waitFor } from '../utils/wait-for.js';

/** Payments left processing (the app runs with PAYMENTS_STAY_PROCESSING), each with its completed event. */
async function processingPayments(t: TestApp, n: number) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const p = await processingPayment(t.url);
    out.push({ ...p, event: pspEventFor(p) });
  }
  return out;
}

const post = (t: TestApp, event: unknown) => postPspEvent(t.url, signWebhook(event));

async function allApplied(t: TestApp, paymentIds: string[]) {
  await waitFor(
    `${paymentIds.length} payments applied`,
    async () => {
      const [{ n }] = await t.db.query(
        `SELECT count(*)::int AS n FROM payments WHERE id = ANY($1::uuid[]) AND status = 'succeeded'`,
        [paymentIds],
      );
      return n === paymentIds.length;
    },
    { timeoutMs: 20_000 },
  );
  // Exactly once: one resolution per payment, one inbox row per event.
  const resolved = await t.db.query(
    `SELECT payment_id, count(*)::int AS n FROM payment_timeline WHERE type = 'resolved' AND payment_id = ANY($1::uuid[]) GROUP BY payment_id`,
    [paymentIds],
  );
  expect(resolved.map((r: { n: number }) => r.n)).toEqual(Array(paymentIds.length).fill(1));
}

// These tests wait for sweepers and reconnects: give them more than jest's 5 s.
jest.setTimeout(30_000);

describe('PostgreSQL unavailable', () => {
  it('the receiver answers 503 with Retry-After, stores nothing, readiness fails, and service resumes by itself', async () => {
    const url = new URL(TEST_DATABASE_URL);
    const proxy = await startTcpProxy(Number(url.port || 5432), url.hostname);
    url.port = String(proxy.port);
    const t = await createTestApp({ ...PAYMENTS_STAY_PROCESSING, DATABASE_URL: url.toString() });
    try {
      const [p] = await processingPayments(t, 1);
      await proxy.cut();
      const refused = await post(t, p.event);
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('5');
      expect(((await refused.json()) as { code: string }).code).toBe('SERVICE.UNAVAILABLE');
      expect((await fetch(`${t.url}/health/ready`)).status).toBe(503);

      await proxy.restore();
      await waitFor('readiness back', async () => (await fetch(`${t.url}/health/ready`)).status === 200, {
        timeoutMs: 15_000,
      });
      expect((await post(t, p.event)).status).toBe(202);
      await allApplied(t, [p.payment.id]);
      const [{ n }] = await t.db.query('SELECT count(*)::int AS n FROM webhook_inbox WHERE event_id = $1', [
        p.event.event_id,
      ]);
      expect(n).toBe(1);
    } finally {
      await t.close();
      await proxy.close();
    }
  });
});

describe('Redis lost', () => {
  it('flushed in the middle of a burst: every stored event is applied once, by the sweeper', async () => {
    const t = await createTestApp({
      ...PAYMENTS_STAY_PROCESSING,
      INBOX_SWEEP_INTERVAL_MS: '200',
      INBOX_SWEEP_STALE_MS: '800',
    });
    const redis = new Redis(TEST_REDIS_URL);
    try {
      const payments = await processingPayments(t, 30);
      const queue = t.app.get<Queue>(getQueueToken(QueueName.WebhookInbox));
      await queue.pause(true); // this worker takes nothing until the flush, so the flush loses jobs
      const answers = await Promise.all(payments.map((p) => post(t, p.event)));
      expect(answers.map((a) => a.status)).toEqual(Array(30).fill(202));
      const waiting = await queue.getWaiting();
      expect(waiting.flatMap((j) => (j.data as ApplyInboxJob).inboxIds)).toHaveLength(30);
      const keys = await redis.keys(`${t.env.REDIS_PREFIX}:*`);
      await redis.del(...keys);
      expect(await queue.getWaitingCount()).toBe(0);
      await queue.resume(true);
      await allApplied(
        t,
        payments.map((p) => p.payment.id),
      );
    } finally {
      redis.disconnect();
      await t.close();
    }
  });

  it('down for a while: the receiver keeps accepting, readiness fails, and everything is applied once it is back', async () => {
    const redisUrl = new URL(TEST_REDIS_URL);
    const proxy = await startTcpProxy(Number(redisUrl.port || 6379), redisUrl.hostname);
    const t = await createTestApp({
      ...PAYMENTS_STAY_PROCESSING,
      REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
      INBOX_SWEEP_INTERVAL_MS: '200',
      INBOX_SWEEP_STALE_MS: '800',
      ENQUEUE_TIMEOUT_MS: '300',
    });
    try {
      const payments = await processingPayments(t, 10);
      await proxy.cut();
      const started = Date.now();
      const answers = await Promise.all(payments.map((p) => post(t, p.event)));
      expect(answers.map((a) => a.status)).toEqual(Array(10).fill(202));
      expect(Date.now() - started).toBeLessThan(5000);
      const [{ stored }] = await t.db.query(
        `SELECT count(*)::int AS stored FROM webhook_inbox WHERE event_id = ANY($1::text[])`,
        [payments.map((p) => p.event.event_id)],
      );
      expect(stored).toBe(10);
      expect((await fetch(`${t.url}/health/ready`)).status).toBe(503);
      await proxy.restore();
      await allApplied(
        t,
        payments.map((p) => p.payment.id),
      );
    } finally {
      await t.close();
      await proxy.close();
    }
  });
});

describe('backpressure', () => {
  it('answers 429 with Retry-After once the inbox backlog passes INBOX_BACKLOG_LIMIT, storing nothing', async () => {
    // The api role has no workers: the backlog only grows. A first app reads how big it is already.
    const t = await createTestApp({ APP_ROLE: 'api' });
    let cleanup: () => Promise<unknown> = () => Promise.resolve();
    try {
      const [{ before }] = await t.db.query(
        'SELECT count(*)::int AS before FROM webhook_inbox WHERE processed_at IS NULL',
      );
      const limit = before + 3;
      const bounded = await createTestApp({ APP_ROLE: 'api', INBOX_BACKLOG_LIMIT: String(limit) });
      try {
        const statuses: number[] = [];
        const events = Array.from({ length: 5 }, () =>
          pspEvent({ pspPaymentId: 'pay_000000000000000000000000', amount: 100 }),
        );
        let last: Response | undefined;
        for (const event of events) {
          last = await post(bounded, event);
          statuses.push(last.status);
        }
        // No worker will ever apply these: leave no backlog behind for the suites after this one.
        cleanup = () =>
          t.db.query('DELETE FROM webhook_inbox WHERE event_id = ANY($1::text[])', [events.map((e) => e.event_id)]);
        expect(statuses).toEqual([202, 202, 202, 429, 429]);
        expect(last!.headers.get('retry-after')).toBe('5');
        expect(((await last!.json()) as { code: string }).code).toBe('WEBHOOK.BACKLOG_FULL');
        const [{ after }] = await t.db.query(
          'SELECT count(*)::int AS after FROM webhook_inbox WHERE processed_at IS NULL',
        );
        expect(after).toBe(limit);
        const metrics = await (await fetch(`${bounded.url}/metrics`)).text();
        expect(metrics).toMatch(
          /hookline_webhooks_received_total\{[^}]*outcome="rejected"[^}]*reason="backlog"[^}]*\} 2/,
        );
      } finally {
        await bounded.close();
      }
    } finally {
      await cleanup();
      await t.close();
    }
  });
});
