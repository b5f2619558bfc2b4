import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import { QueueName } from '../../src/queue/queues.js';
import { InboxQueue, type ApplyInboxJob } from '../../src/webhooks/inbound/inbox-queue.js';
import { InboxRepository } from '../../src/webhooks/inbound/inbox.repository.js';
import { PspWebhookHandler } from '../../src/payments/psp-webhook.handler.js';
import { MetricsRegistry } from '../../src/metrics/metrics-registry.js';
import { http } from '../factories/orders.factory.js';
import { createTestApp, type TestApp } from '../utils/create-test-app.js';
import { captureOutput, jsonLines } from '../utils/capture-output.js';
import { PAYMENTS_STAY_PROCESSING, processingPayment } from '../factories/payments.factory.js';
import { postPspEvent, pspEventFor } from '../factories/psp-events.factory.js';
import { signWebhook } from '../utils/sign-webhook.js';
import { ADMIN_KEY } from '../utils/test-env.js';
import { waitFor } from '../utils/wait-for.js';

const ADMIN = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' };

jest.setTimeout(60_000);

/**
 * An inbound event whose handler keeps throwing: retried with backoff up to
 * INBOX_MAX_ATTEMPTS (3 here), then marked dead; it leaves the backlog, is listed and
 * replayed through the admin API, and leaves no Bull job behind.
 */
describe('inbox dead letters', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({
      ...PAYMENTS_STAY_PROCESSING,
      INBOX_MAX_ATTEMPTS: '3',
      INBOX_RETRY_BACKOFF_MS: '50',
      INBOX_RETRY_BACKOFF_MAX_MS: '200',
    });
  });
  afterAll(async () => {
    await t.close();
  });

  const row = async (eventId: string) =>
    (
      await t.db.query<
        { id: string; status: string; attempts: number; last_error: string | null; dead_at: Date | null }[]
      >(`SELECT id, status, attempts, last_error, dead_at FROM webhook_inbox WHERE event_id = $1`, [eventId])
    )[0];
  const jobsFor = async (inboxId: string) => {
    const queue = t.app.get<Queue<ApplyInboxJob>>(getQueueToken(QueueName.WebhookInbox));
    const jobs = await queue.getJobs(['completed', 'active', 'waiting', 'delayed', 'failed']);
    return jobs.filter((j) => j?.data.inboxIds?.includes(inboxId));
  };
  const deadCount = async () =>
    (await t.app.get(MetricsRegistry).getSingleMetric('hookline_inbox_dead_total')!.get()).values.reduce(
      (sum, v) => sum + v.value,
      0,
    );

  it('retries a failing event, marks it dead at the cap, then applies it once replayed after the fix', async () => {
    const p = await processingPayment(t.url);
    const { order, payment } = p;
    const event = pspEventFor(p);
    const handler = t.app.get(PspWebhookHandler);
    const original = handler.handle.bind(handler);
    const broken = jest.spyOn(handler, 'handle').mockImplementation((manager, events) => {
      if (events.some((e) => e.eventId === event.event_id)) throw new Error('handler bug: cannot apply');
      return original(manager, events);
    });
    const deadBefore = await deadCount();
    let output: string;
    try {
      output = await captureOutput(async () => {
        const res = await postPspEvent(t.url, signWebhook(event));
        expect(res.status).toBe(202);
        await waitFor('the row dead', async () => (await row(event.event_id))?.status === 'dead', {
          timeoutMs: 20_000,
        });
      });
    } finally {
      broken.mockRestore();
    }
    const dead = await row(event.event_id);
    expect(dead).toMatchObject({ status: 'dead', attempts: 3, last_error: 'handler bug: cannot apply' });
    expect(dead.dead_at).toBeInstanceOf(Date);

    // One log line at death, the metric, the payment's timeline.
    const told = jsonLines(output).filter((l) =>
      new RegExp(`^Inbox ${dead.id} .* dead after 3 attempts`).test(String(l.msg)),
    );
    expect(told).toHaveLength(1);
    expect(await deadCount()).toBe(deadBefore + 1);
    const timeline = (await http(t.url, 'GET', `/payments/${payment.id}`)).body.timeline as {
      type: string;
      detail: Record<string, unknown>;
    }[];
    expect(timeline.filter((e) => e.type === 'webhook_dead')).toEqual([
      expect.objectContaining({ detail: expect.objectContaining({ eventId: event.event_id, inboxId: dead.id }) }),
    ]);
    // And payment.attention_required for the merchants' endpoints that subscribe to it.
    const notices = await t.db.query<{ payload: { data: Record<string, unknown> } }[]>(
      `SELECT payload FROM webhook_messages WHERE event_type = 'payment.attention_required' AND payload->'data'->>'payment_id' = $1`,
      [payment.id],
    );
    expect(notices.map((n) => n.payload.data)).toEqual([
      expect.objectContaining({ payment_id: payment.id, reason: 'webhook_dead' }),
    ]);

    // Out of the backlog INBOX_BACKLOG_LIMIT counts; the sweeper leaves it alone.
    const [{ pending }] = await t.db.query<{ pending: number }[]>(
      `SELECT count(*)::int AS pending FROM webhook_inbox WHERE processed_at IS NULL`,
    );
    expect(await t.app.get(InboxRepository).countBacklog()).toBe(pending - 1);
    await t.db.query(
      `UPDATE webhook_inbox SET queued_at = now() - interval '1 hour', received_at = received_at - interval '1 hour' WHERE id = $1`,
      [dead.id],
    );
    expect(await t.app.get(InboxQueue).sweep(1000)).toBe(0);

    // No Bull job is left for it (the failed attempts' jobs completed and were removed).
    await waitFor('no job for the dead row', async () => (await jobsFor(dead.id)).length === 0);

    // Listed, with filters.
    const listed = await http(
      t.url,
      'GET',
      '/webhooks/inbox/dead?source=psp&type=payment.completed&limit=100',
      undefined,
      ADMIN,
    );
    expect(listed.status).toBe(200);
    expect(listed.body.data.map((r: { id: string }) => r.id)).toContain(dead.id);
    expect(listed.body.data.find((r: { id: string }) => r.id === dead.id)).toMatchObject({
      eventId: event.event_id,
      attempts: 3,
      lastError: 'handler bug: cannot apply',
    });
    const other = await http(t.url, 'GET', '/webhooks/inbox/dead?type=payment.failed', undefined, ADMIN);
    expect(other.body.data.map((r: { id: string }) => r.id)).not.toContain(dead.id);
    const future = await http(
      t.url,
      'GET',
      `/webhooks/inbox/dead?since=${new Date(Date.now() + 60_000).toISOString()}`,
      undefined,
      ADMIN,
    );
    expect(future.body.data).toEqual([]);
    expect((await http(t.url, 'GET', '/webhooks/inbox/dead')).status).toBe(401); // the shop key is not an admin key

    // Replayed after the fix: applied, the order paid, no job left.
    const replay = await http(t.url, 'POST', `/webhooks/inbox/${dead.id}/replay`, undefined, ADMIN);
    expect(replay).toMatchObject({ status: 202, body: { id: dead.id, status: 'received' } });
    await waitFor('the row applied', async () => (await row(event.event_id)).status === 'processed');
    expect(await row(event.event_id)).toMatchObject({ attempts: 1, dead_at: null });
    expect((await http(t.url, 'GET', `/orders/${order.id}`)).body.status).toBe('paid');
    await waitFor('no job for the replayed row', async () => (await jobsFor(dead.id)).length === 0);

    // Not dead any more: 409; unknown: 404.
    const again = await http(t.url, 'POST', `/webhooks/inbox/${dead.id}/replay`, undefined, ADMIN);
    expect(again).toMatchObject({ status: 409, body: { code: 'WEBHOOK_INBOX.NOT_DEAD' } });
    const unknown = await http(
      t.url,
      'POST',
      '/webhooks/inbox/00000000-0000-4000-8000-000000000000/replay',
      undefined,
      ADMIN,
    );
    expect(unknown).toMatchObject({ status: 404, body: { code: 'WEBHOOK_INBOX.NOT_FOUND' } });
  });

  it('replays every dead row matching a filter and answers the count', async () => {
    const ids: string[] = [];
    for (const type of ['test.alpha', 'test.alpha', 'test.beta']) {
      const [r] = await t.db.query<{ id: string }[]>(
        `INSERT INTO webhook_inbox (source, event_id, event_type, payload, received_at, verified_at, status, attempts, dead_at)
         VALUES ('psp', $1, $2, '{}', now(), now(), 'dead', 3, now()) RETURNING id`,
        [`evt_dead_${Math.random().toString(36).slice(2)}`, type],
      );
      ids.push(r.id);
    }
    const res = await http(t.url, 'POST', '/webhooks/inbox/replay-dead', { type: 'test.alpha' }, ADMIN);
    expect(res).toMatchObject({ status: 200, body: { replayed: 2 } });
    // Applied (ignored: the PSP handler does not know the type); the beta row stays dead.
    await waitFor('both alpha rows ignored', async () => {
      const rows = await t.db.query<{ status: string }[]>(
        `SELECT status FROM webhook_inbox WHERE id = ANY($1::uuid[])`,
        [ids.slice(0, 2)],
      );
      return rows.every((r) => r.status === 'ignored');
    });
    const [beta] = await t.db.query<{ status: string }[]>(`SELECT status FROM webhook_inbox WHERE id = $1`, [ids[2]]);
    expect(beta.status).toBe('dead');
  });
});
