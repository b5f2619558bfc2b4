import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import { Webhook } from 'standardwebhooks';
import { QueueName } from '../../src/queue/queues.js';
import type { ApplyInboxJob } from '../../src/webhooks/inbound/inbox-queue.js';
import { http } from '../factories/orders.factory.js';
import { PAYMENTS_STAY_PROCESSING, processingPayment } from '../factories/payments.factory.js';
import { createTestApp, type TestApp } from '../utils/create-test-app.js';
import { postPspEvent, pspEvent, pspEventFor } from '../factories/psp-events.factory.js';
import { signWebhook, type SignedRequest } from '../utils/sign-webhook.js';
import { WEBHOOK_SECRET } from '../utils/test-env.js';
import { waitFor } from '../utils/wait-for.js';
import * as prepared from '../../src/common/db/prepared-query.js';
import { InboxRetentionTask } from '../../src/webhooks/inbound/inbox-retention.task.js';

/**
 * Drives POST /webhooks/psp directly, as a PSP (or an attacker) would. The PSP mock's
 * own settlement is pushed an hour out so that only these requests touch the payments.
 */
describe('POST /webhooks/psp', () => {
  let t: TestApp;

  beforeAll(async () => {
    // No settlement, no fallback poll: only these requests resolve payments.
    t = await createTestApp(PAYMENTS_STAY_PROCESSING);
  });
  afterAll(async () => {
    await t.close();
  });

  const send = (req: SignedRequest) =>
    postPspEvent(t.url, req).then(async (res) => ({
      status: res.status,
      type: res.headers.get('content-type'),
      body: await res.json(),
    }));

  const inboxRows = async (eventId: string) =>
    t.db.query('SELECT id, status, outcome, processed_at FROM webhook_inbox WHERE event_id = $1', [eventId]);
  const orderStatus = async (id: string) => (await http(t.url, 'GET', `/orders/${id}`)).body.status;
  const timeline = async (paymentId: string) =>
    (await http(t.url, 'GET', `/payments/${paymentId}`)).body.timeline as {
      type: string;
      detail: Record<string, unknown>;
    }[];

  it('accepts a valid event with 202, stores it, and applies it: order paid', async () => {
    const p = await processingPayment(t.url);
    const event = pspEventFor(p);
    const res = await send(signWebhook(event));
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ status: 'accepted', eventId: event.event_id });
    expect(await inboxRows(event.event_id)).toHaveLength(1);
    await waitFor('order paid', async () => (await orderStatus(p.order.id)) === 'paid');
    const [row] = await inboxRows(event.event_id);
    expect(row.status).toBe('processed');
  });

  it('answers 200 to the same event delivered again, with one inbox row and one state change', async () => {
    const p = await processingPayment(t.url);
    const event = pspEventFor(p);
    expect((await send(signWebhook(event))).status).toBe(202);
    await waitFor('order paid', async () => (await orderStatus(p.order.id)) === 'paid');
    // A redelivery carries a fresh webhook-id/timestamp/signature but the same event_id.
    const again = await send(signWebhook(event));
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ status: 'duplicate', eventId: event.event_id });
    expect(await inboxRows(event.event_id)).toHaveLength(1);
    const types = (await timeline(p.payment.id)).map((e) => e.type);
    expect(types.filter((x) => x === 'resolved')).toHaveLength(1);
    expect(types.filter((x) => x === 'webhook_received')).toHaveLength(1);
  });

  it('stores one row, enqueues one job and applies once when 50 deliveries of an event arrive at once', async () => {
    const p = await processingPayment(t.url);
    const event = pspEventFor(p);
    const requests = Array.from({ length: 50 }, () => signWebhook(event));
    const queue = t.app.get<Queue>(getQueueToken(QueueName.WebhookInbox));
    // Completed inbox jobs are removed at once (the row is the record): watch them being added.
    const added = jest.spyOn(queue, 'addBulk');
    let answers: Awaited<ReturnType<typeof send>>[];
    let calls: unknown[][];
    try {
      answers = await Promise.all(requests.map((r) => send(r)));
    } finally {
      calls = [...added.mock.calls]; // mockRestore forgets them
      added.mockRestore();
    }
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 202)).toHaveLength(1);
    expect(statuses.filter((s) => s === 200)).toHaveLength(49);
    await waitFor('order paid', async () => (await orderStatus(p.order.id)) === 'paid');
    const rows = await inboxRows(event.event_id);
    expect(rows).toHaveLength(1);
    const jobs = calls
      .flatMap(([list]) => list as { data: ApplyInboxJob; opts: { jobId: string } }[])
      .filter((j) => j.data.inboxIds?.includes(rows[0].id));
    expect(jobs.map((j) => [j.opts.jobId, j.data])).toEqual([[rows[0].id, { inboxIds: [rows[0].id] }]]);
    await waitFor('the completed job removed', async () => (await queue.getJob(rows[0].id)) === null);
    const types = (await timeline(p.payment.id)).map((e) => e.type);
    expect(types.filter((x) => x === 'resolved')).toHaveLength(1);
    expect(types.filter((x) => x === 'order_updated')).toHaveLength(1);
  });

  it('stores concurrent events in shared INSERTs (group commit): each 202 has its row in one job, each order is paid', async () => {
    const payments = await Promise.all(Array.from({ length: 20 }, () => processingPayment(t.url)));
    const events = payments.map((p) => pspEventFor(p));
    const query = jest.spyOn(prepared, 'preparedQuery');
    let answers: { status: number }[];
    let inserts: unknown[];
    try {
      answers = await Promise.all(events.map((e) => send(signWebhook(e))));
      inserts = query.mock.calls.filter(([, , sql]) => sql.includes('INSERT INTO webhook_inbox'));
    } finally {
      query.mockRestore();
    }
    expect(answers.map((a) => a.status)).toEqual(events.map(() => 202));
    expect(inserts.length).toBeGreaterThan(0);
    expect(inserts.length).toBeLessThan(events.length);
    const rows: { id: string; payload: { event_id: string } }[] = await t.db.query(
      'SELECT id, payload FROM webhook_inbox WHERE event_id = ANY($1)',
      [events.map((e) => e.event_id)],
    );
    expect(rows.map((r) => r.payload.event_id).sort()).toEqual(events.map((e) => e.event_id).sort());
    const queue = t.app.get<Queue>(getQueueToken(QueueName.WebhookInbox));
    // One job per INSERT (the rows it stored), each row in exactly one job.
    const jobs = await queue.getJobs(['completed', 'active', 'waiting', 'delayed', 'failed']);
    const queued = jobs
      .flatMap((j) => (j.data as ApplyInboxJob).inboxIds ?? [])
      .filter((id) => rows.some((r) => r.id === id));
    expect(queued.sort()).toEqual(rows.map((r) => r.id).sort());
    expect(
      jobs.filter((j) => (j.data as ApplyInboxJob).inboxIds?.some((id) => rows.some((r) => r.id === id))),
    ).toHaveLength(inserts.length);
    for (const p of payments) await waitFor('order paid', async () => (await orderStatus(p.order.id)) === 'paid');
  });

  it('records payment.processing after payment.completed as ignored, never moving the payment back', async () => {
    const p = await processingPayment(t.url);
    expect((await send(signWebhook(pspEventFor(p)))).status).toBe(202);
    await waitFor('order paid', async () => (await orderStatus(p.order.id)) === 'paid');
    const late = pspEventFor(p, { type: 'payment.processing' });
    expect((await send(signWebhook(late))).status).toBe(202);
    const [row] = await waitFor('late event processed', async () => {
      const r = await inboxRows(late.event_id);
      return r[0]?.processed_at ? r : undefined;
    });
    expect(row).toMatchObject({ status: 'ignored' });
    expect(row.outcome).toContain('succeeded');
    const payment = (await http(t.url, 'GET', `/payments/${p.payment.id}`)).body;
    expect(payment.status).toBe('succeeded');
    expect(payment.timeline.at(-1)).toMatchObject({ type: 'ignored', detail: { eventId: late.event_id } });
  });

  it('rejects a tampered body with 401 WEBHOOK.SIGNATURE_INVALID and stores nothing', async () => {
    const p = await processingPayment(t.url);
    const event = pspEventFor(p);
    const signed = signWebhook(event);
    const tampered = { ...signed, body: signed.body.replace(`"amount":${p.payment.amount}`, '"amount":1') };
    expect(tampered.body).not.toBe(signed.body);
    const res = await send(tampered);
    expect(res.status).toBe(401);
    expect(res.type).toContain('application/problem+json');
    expect(res.body.code).toBe('WEBHOOK.SIGNATURE_INVALID');
    expect(await inboxRows(event.event_id)).toHaveLength(0);
    expect(await orderStatus(p.order.id)).toBe('pending_payment');
  });

  it('rejects a signature made with another secret (401) and stores nothing', async () => {
    const p = await processingPayment(t.url);
    const event = pspEventFor(p);
    const other = `whsec_${Buffer.from('some-other-secret-entirely').toString('base64')}`;
    const res = await send(signWebhook(event, { secret: other }));
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('WEBHOOK.SIGNATURE_INVALID');
    expect(await inboxRows(event.event_id)).toHaveLength(0);
  });

  // 30 s beyond the tolerance, not 1: a future timestamp moves back into it as the request
  // waits on a loaded machine (one second of delay made +301 s pass as +300).
  it.each([
    ['stale', -330],
    ['future', +330],
  ])('rejects a %s timestamp outside ±300 s with 401 WEBHOOK.TIMESTAMP_OUT_OF_TOLERANCE', async (_label, offset) => {
    const p = await processingPayment(t.url);
    const event = pspEventFor(p);
    const res = await send(signWebhook(event, { timestamp: Math.floor(Date.now() / 1000) + offset }));
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('WEBHOOK.TIMESTAMP_OUT_OF_TOLERANCE');
    expect(await inboxRows(event.event_id)).toHaveLength(0);
  });

  it('rejects a request without signature headers with 401 WEBHOOK.SIGNATURE_MISSING', async () => {
    const p = await processingPayment(t.url);
    const event = pspEventFor(p);
    const res = await send({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('WEBHOOK.SIGNATURE_MISSING');
    expect(await inboxRows(event.event_id)).toHaveLength(0);
  });

  it('answers 400 to a correctly signed body that is not an event, storing nothing', async () => {
    const [{ before }] = await t.db.query('SELECT count(*)::int AS before FROM webhook_inbox');
    for (const body of [
      '[]',
      '{"type":"payment.completed","data":{}}',
      '{"event_id":"evt_x","type":"payment.completed","data":"nope"}',
    ]) {
      const res = await send(signWebhook(undefined, { body }));
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('WEBHOOK.MALFORMED_EVENT');
    }
    const [{ after }] = await t.db.query('SELECT count(*)::int AS after FROM webhook_inbox');
    expect(after).toBe(before);
  });

  it('answers 413 to a body over the limit, storing nothing', async () => {
    const event = {
      event_id: 'evt_big',
      type: 'payment.completed',
      data: { pad: 'x'.repeat(t.env.WEBHOOK_MAX_BODY_BYTES) },
    };
    const res = await send(signWebhook(event));
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('REQUEST.TOO_LARGE');
    expect(await inboxRows('evt_big')).toHaveLength(0);
  });

  it('accepts an event signed by the standardwebhooks library with the configured secret', async () => {
    const p = await processingPayment(t.url);
    const event = pspEventFor(p);
    const body = JSON.stringify(event);
    const msgId = `msg_${event.event_id}`;
    const now = new Date();
    const signature = new Webhook(WEBHOOK_SECRET).sign(msgId, now, body);
    const res = await send({
      body,
      headers: {
        'content-type': 'application/json',
        'webhook-id': msgId,
        'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
        'webhook-signature': signature,
      },
    });
    expect(res.status).toBe(202);
    await waitFor('order paid', async () => (await orderStatus(p.order.id)) === 'paid');
  });

  it('never moves a final state back: payment.failed after payment.completed is recorded as ignored', async () => {
    const p = await processingPayment(t.url);
    expect((await send(signWebhook(pspEventFor(p)))).status).toBe(202);
    await waitFor('order paid', async () => (await orderStatus(p.order.id)) === 'paid');
    const late = pspEventFor(p, { type: 'payment.failed' });
    expect((await send(signWebhook(late))).status).toBe(202);
    const [row] = await waitFor('late event processed', async () => {
      const rows = await inboxRows(late.event_id);
      return rows[0]?.processed_at ? rows : undefined;
    });
    expect(row.status).toBe('ignored');
    expect(row.outcome).toContain('payment is succeeded');
    expect(await orderStatus(p.order.id)).toBe('paid');
    const payment = (await http(t.url, 'GET', `/payments/${p.payment.id}`)).body;
    expect(payment.status).toBe('succeeded');
    expect(payment.timeline.at(-1)).toMatchObject({ type: 'ignored', detail: { eventId: late.event_id } });
  });

  it('ignores an event for a payment the shop does not know, and says why', async () => {
    const event = pspEvent({ pspPaymentId: 'pay_000000000000000000000000', amount: 100 });
    expect((await send(signWebhook(event))).status).toBe(202);
    const [row] = await waitFor('unknown event processed', async () => {
      const rows = await inboxRows(event.event_id);
      return rows[0]?.processed_at ? rows : undefined;
    });
    expect(row).toMatchObject({ status: 'ignored' });
    expect(row.outcome).toContain('no payment matches');
  });

  it('deletes inbox rows processed longer ago than INBOX_RETENTION, keeps the rest, and a later redelivery changes nothing', async () => {
    const [old, recent] = [await processingPayment(t.url), await processingPayment(t.url)];
    const [oldEvent, recentEvent] = [pspEventFor(old), pspEventFor(recent)];
    for (const e of [oldEvent, recentEvent]) expect((await send(signWebhook(e))).status).toBe(202);
    for (const p of [old, recent]) await waitFor('order paid', async () => (await orderStatus(p.order.id)) === 'paid');
    // Aged as time would: one processed 40 days ago, one 2 days ago; and a row received
    // 40 days ago that no processor has applied yet (queued just now, so no sweep touches it).
    await t.db.query(`UPDATE webhook_inbox SET processed_at = now() - interval '40 days' WHERE event_id = $1`, [
      oldEvent.event_id,
    ]);
    await t.db.query(`UPDATE webhook_inbox SET processed_at = now() - interval '2 days' WHERE event_id = $1`, [
      recentEvent.event_id,
    ]);
    const unprocessed = `evt_unprocessed_${Date.now()}`;
    await t.db.query(
      `INSERT INTO webhook_inbox (source, event_id, event_type, payload, received_at, verified_at, queued_at)
       VALUES ('retention-test', $1, 'payment.completed', '{}', now() - interval '40 days', now() - interval '40 days', now())`,
      [unprocessed],
    );
    try {
      const retention = t.app.get(InboxRetentionTask);
      expect(retention.retentionMs).toBe(30 * 86_400_000);
      const metric = async () =>
        Number(
          /^hookline_inbox_rows_purged_total (\d+)/m.exec(await (await fetch(`${t.url}/metrics`)).text())?.[1] ?? 0,
        );
      const before = await metric();
      const purged = await retention.purge(retention.retentionMs, 1); // batches of one
      expect(purged).toBeGreaterThanOrEqual(1);
      expect(await inboxRows(oldEvent.event_id)).toEqual([]);
      expect(await inboxRows(recentEvent.event_id)).toHaveLength(1);
      expect(await inboxRows(unprocessed)).toHaveLength(1);
      expect(await metric()).toBe(before + purged);
      // The payment's timeline keeps the event; a redelivery now is stored again, and
      // applying it again moves nothing: the payment is final.
      const types = async () => (await timeline(old.payment.id)).map((e) => e.type);
      expect(await types()).toContain('webhook_received');
      expect((await send(signWebhook(oldEvent))).status).toBe(202);
      const [row] = await waitFor('the redelivery processed', async () => {
        const r = await inboxRows(oldEvent.event_id);
        return r[0]?.processed_at ? r : undefined;
      });
      expect(row.status).toBe('ignored');
      expect(await orderStatus(old.order.id)).toBe('paid');
      expect((await types()).filter((x) => x === 'resolved')).toHaveLength(1);
    } finally {
      await t.db.query(`DELETE FROM webhook_inbox WHERE event_id = $1`, [unprocessed]);
    }
  });
});
