import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import { randomUUID } from 'node:crypto';
import { callerIdOf } from '../../src/http/auth/caller-identity.js';
import { IdempotencyService } from '../../src/http/idempotency/idempotency.service.js';
import { JobName, QueueName } from '../../src/queue/queues.js';
import { createOrder, http, orderBody, payOrder, shopHeaders } from '../factories/orders.factory.js';
import { createTestApp, type TestApp } from '../utils/create-test-app.js';
import { postPspEvent, pspEvent } from '../factories/psp-events.factory.js';
import { signWebhook, type SignedRequest } from '../utils/sign-webhook.js';
import { PSP_KEY, SHOP_KEY } from '../utils/test-env.js';
import { waitFor } from '../utils/wait-for.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A scrape of /metrics, parsed; `value` sums the samples whose labels include `labels`. */
class Scrape {
  constructor(readonly samples: Sample[]) {}

  static parse(text: string): Scrape {
    const samples: Sample[] = [];
    for (const line of text.split('\n')) {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!m) continue;
      const labels: Record<string, string> = {};
      for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
      samples.push({ name: m[1], labels, value: Number(m[3]) });
    }
    return new Scrape(samples);
  }

  has(name: string): boolean {
    return this.samples.some((s) => s.name === name);
  }

  value(name: string, labels: Record<string, string> = {}): number {
    return this.samples
      .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
      .reduce((sum, s) => sum + s.value, 0);
  }
}

async function scrape(base: string): Promise<Scrape> {
  const res = await fetch(`${base}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return Scrape.parse(await res.text());
}

/**
 * Every operational metric moves as the shop works: each app has its own registry,
 * so counts start at zero and most are asserted exactly.
 */
describe('GET /metrics', () => {
  let t: TestApp;
  let paid: { orderId: string; paymentId: string; pspPaymentId: string };

  beforeAll(async () => {
    t = await createTestApp({ SHORT_POLL_INTERVAL_MS: '200' });
    // Payments other suites left open would be polled and resolved by this app's workers
    // and move its counters: the counts asserted here must be this suite's own.
    await t.db.query(`UPDATE payments SET next_poll_at = NULL WHERE status = 'processing'`);
  });
  afterAll(async () => {
    await t.close();
  });

  const send = (req: SignedRequest) => postPspEvent(t.url, req);

  it('follows a payment paid by webhook: delivery, acceptance, processing lag, resolution', async () => {
    const order = await createOrder(t.url);
    const payment = await payOrder(t.url, order.id);
    paid = { orderId: order.id, paymentId: payment.id, pspPaymentId: payment.pspPaymentId };

    // Counted after commit, a moment after the order reads paid: wait for the metrics themselves.
    // The PSP mock counts its delivery once it has recorded the attempt, which may come after
    // the shop has already applied the event.
    const m = await waitFor('the webhook to be delivered and applied', async () => {
      const s = await scrape(t.url);
      return s.value('hookline_webhook_processing_lag_seconds_count') === 1 &&
        s.value('hookline_payments_resolved_total') === 1 &&
        s.value('hookline_psp_webhook_deliveries_total') >= 1
        ? s
        : undefined;
    });
    const endpoint = t.url; // the callback URL's origin; its path never becomes a label
    expect(m.value('hookline_psp_webhook_deliveries_total', { outcome: 'delivered', endpoint })).toBe(1);
    expect(m.value('hookline_psp_webhook_deliveries_total')).toBe(1);
    const psp = { owner: 'psp', outcome: 'succeeded' };
    expect(m.value('hookline_webhook_delivery_attempts_total', psp)).toBe(1);
    expect(m.value('hookline_webhook_delivery_attempt_seconds_count', psp)).toBe(1);
    expect(m.value('hookline_webhook_delivery_attempt_seconds_sum', psp)).toBeLessThan(5);
    expect(m.samples.some((s) => s.labels.endpoint?.includes('/webhooks'))).toBe(false);
    expect(m.value('hookline_webhooks_received_total', { source: 'psp', outcome: 'accepted' })).toBe(1);
    expect(m.value('hookline_webhooks_received_total')).toBe(1);
    expect(m.value('hookline_payments_resolved_total', { via: 'webhook', status: 'succeeded' })).toBe(1);

    const [row] = await t.db.query(
      `SELECT EXTRACT(EPOCH FROM processed_at - received_at)::float8 AS lag FROM webhook_inbox WHERE payload->'data'->>'payment_id' = $1`,
      [payment.pspPaymentId],
    );
    expect(m.value('hookline_webhook_processing_lag_seconds_count', { source: 'psp' })).toBe(1);
    expect(m.value('hookline_webhook_processing_lag_seconds_sum', { source: 'psp' })).toBeCloseTo(row.lag, 3);
    expect(m.value('hookline_webhook_processing_lag_seconds_bucket', { source: 'psp', le: '+Inf' })).toBe(1);
  });

  it('counts a duplicate delivery and every kind of rejection by reason, storing nothing for them', async () => {
    const [{ payload }] = await t.db.query(`SELECT payload FROM psp_events WHERE payment_id = $1`, [paid.pspPaymentId]);
    const [{ rows: inboxBefore }] = await t.db.query('SELECT count(*)::int AS rows FROM webhook_inbox');

    expect((await send(signWebhook(payload))).status).toBe(200); // the PSP's event again
    const event = pspEvent({ pspPaymentId: paid.pspPaymentId, amount: 1 });
    const wrongSecret = `whsec_${Buffer.from('not-the-psp-signing-secret').toString('base64')}`;
    expect((await send(signWebhook(event, { secret: wrongSecret }))).status).toBe(401);
    const unsigned = signWebhook(event);
    expect((await send({ headers: { 'content-type': 'application/json' }, body: unsigned.body })).status).toBe(401);
    const stale = signWebhook(event, { timestamp: Math.floor(Date.now() / 1000) - 3600 });
    expect((await send(stale)).status).toBe(401);
    // Malformed twice: an envelope the handler refuses, and JSON Fastify cannot parse.
    expect((await send(signWebhook({ event_id: 'evt_no_type', data: {} }))).status).toBe(400);
    expect((await send(signWebhook(undefined, { body: '{"event_id":' }))).status).toBe(400);
    // Too large: Fastify refuses it before Nest runs.
    const huge = JSON.stringify({ ...event, data: { pad: 'x'.repeat(t.env.WEBHOOK_MAX_BODY_BYTES) } });
    expect((await send(signWebhook(undefined, { body: huge }))).status).toBe(413);

    const m = await scrape(t.url);
    const received = (labels: Record<string, string>) =>
      m.value('hookline_webhooks_received_total', { source: 'psp', ...labels });
    expect(received({ outcome: 'accepted' })).toBe(1);
    expect(received({ outcome: 'duplicate' })).toBe(1);
    expect(received({ outcome: 'rejected', reason: 'signature_invalid' })).toBe(1);
    expect(received({ outcome: 'rejected', reason: 'signature_missing' })).toBe(1);
    expect(received({ outcome: 'rejected', reason: 'timestamp_out_of_tolerance' })).toBe(1);
    expect(received({ outcome: 'rejected', reason: 'malformed' })).toBe(2);
    expect(received({ outcome: 'rejected', reason: 'too_large' })).toBe(1);
    expect(m.value('hookline_webhooks_received_total')).toBe(8);
    const [{ rows: inboxAfter }] = await t.db.query('SELECT count(*)::int AS rows FROM webhook_inbox');
    expect(inboxAfter).toBe(inboxBefore);
    // A duplicate is not applied again.
    expect(m.value('hookline_webhook_processing_lag_seconds_count')).toBe(1);
  });

  it('counts idempotent replays, in-flight conflicts and key reuse by route pattern', async () => {
    const withKey = (key: string) => ({ ...shopHeaders, 'idempotency-key': key });
    const key = `metrics-${randomUUID()}`;
    expect((await http(t.url, 'POST', '/orders', orderBody(), withKey(key))).status).toBe(201);
    const replay = await http(t.url, 'POST', '/orders', orderBody(), withKey(key));
    expect(replay.headers.get('idempotency-replay')).toBe('true');
    expect((await http(t.url, 'POST', '/orders', orderBody({ currency: 'EUR' }), withKey(key))).status).toBe(422);

    // On a route with a path parameter: labelled with the pattern, not the id. The payments are
    // made as their first requests leave them (with the key), so that none settles and moves
    // this suite's other counters: one the PSP accepted, one still waiting on the PSP.
    const shopScope = IdempotencyService.scopeOf({
      kind: 'key',
      id: callerIdOf(SHOP_KEY),
      realms: ['shop'],
      scheme: 'bearer',
    });
    const keyedPayment = async (pspPaymentId: string | null) => {
      const order = await createOrder(t.url);
      const key = `metrics-${randomUUID()}`;
      await t.db.query(
        `INSERT INTO payments (order_id, status, strategy, payment_method, amount, currency, psp_payment_id,
                               idempotency_scope, idempotency_key, idempotency_request_hash)
         VALUES ($1, 'processing', 'webhook', 'pm_card_ok', $2, $3, $4, $5, $6, $7)`,
        [
          order.id,
          order.amount,
          order.currency,
          pspPaymentId,
          shopScope,
          key,
          IdempotencyService.requestHash('POST', `/orders/${order.id}/payments`, {}),
        ],
      );
      return http(t.url, 'POST', `/orders/${order.id}/payments`, {}, withKey(key));
    };
    expect((await keyedPayment(`pay_${randomUUID().replaceAll('-', '')}`)).headers.get('idempotency-replay')).toBe(
      'true',
    );
    expect((await keyedPayment(null)).status).toBe(409);

    // The claim/answer interceptor's (the Stripe dialect): a first request still running, as its claim row records it.
    const key4 = `metrics-${randomUUID()}`;
    const form = { amount: '700', currency: 'eur', confirm: 'true', payment_method: 'pm_card_visa' };
    await t.db.query(
      `INSERT INTO idempotency_keys (scope, key, request_hash, method, path, status, locked_at)
       VALUES ($1, $2, $3, 'POST', '/v1/payment_intents', 'in_flight', now())`,
      [
        IdempotencyService.scopeOf({ kind: 'key', id: callerIdOf(PSP_KEY), realms: ['psp'], scheme: 'bearer' }),
        key4,
        IdempotencyService.requestHash('POST', '/v1/payment_intents', form),
      ],
    );
    const held = await http(t.url, 'POST', '/v1/payment_intents', new URLSearchParams(form).toString(), {
      authorization: `Bearer ${PSP_KEY}`,
      'content-type': 'application/x-www-form-urlencoded',
      'idempotency-key': key4,
    });
    expect(held.status).toBe(409);

    const m = await scrape(t.url);
    const idem = (labels: Record<string, string>) => m.value('hookline_idempotent_replays_total', labels);
    expect(idem({ route: '/orders', outcome: 'replayed' })).toBe(1);
    expect(idem({ route: '/orders', outcome: 'mismatch' })).toBe(1);
    expect(idem({ route: '/orders/:id/payments', outcome: 'replayed' })).toBe(1);
    expect(idem({ route: '/orders/:id/payments', outcome: 'in_flight' })).toBe(1);
    expect(idem({ route: '/v1/payment_intents', outcome: 'in_flight' })).toBe(1);
    expect(idem({})).toBe(5);
  });

  it('counts the polls of a short-polling payment and its resolution by short_poll', async () => {
    const order = await createOrder(t.url);
    const payment = await payOrder(t.url, order.id, { strategy: 'short_polling' });
    const m = await waitFor('the short-polling payment to resolve', async () => {
      const s = await scrape(t.url);
      return s.value('hookline_payments_resolved_total', { via: 'short_poll' }) === 1 ? s : undefined;
    });
    expect(m.value('hookline_payments_resolved_total', { via: 'short_poll', status: 'succeeded' })).toBe(1);
    expect(m.value('hookline_payment_polls_total', { via: 'short_poll', result: 'final' })).toBe(1);
    expect(m.value('hookline_payment_polls_total', { via: 'short_poll', result: 'error' })).toBe(0);
    expect(m.value('hookline_payments_resolved_total')).toBe(2);
    // No callback URL, no webhook: the delivery and receive counts did not move.
    expect(m.value('hookline_psp_webhook_deliveries_total')).toBe(1);
    expect(m.value('hookline_webhooks_received_total', { outcome: 'accepted' })).toBe(1);
    // The counter moves once the resolution has committed: what it counts is visible.
    expect((await http(t.url, 'GET', `/payments/${payment.id}`)).body.resolvedVia).toBe('short_poll');
  });

  it('reads the inbox backlog and the age of its oldest unprocessed event at scrape time (at most 2 s old)', async () => {
    const idle = await scrape(t.url);
    expect(idle.value('hookline_inbox_backlog')).toBe(0);
    expect(idle.value('hookline_inbox_oldest_unprocessed_age_seconds')).toBe(0);

    // An event received 90 s ago and not applied yet (queued just now, so the sweeper leaves it).
    const [{ id }] = await t.db.query(
      `INSERT INTO webhook_inbox (source, event_id, event_type, payload, received_at, verified_at, queued_at)
       VALUES ('psp', $1, 'payment.completed', '{}', now() - interval '90 seconds', now() - interval '90 seconds', now())
       RETURNING id`,
      [`evt_metrics_${randomUUID()}`],
    );
    try {
      // A scrape reuses the inbox query of the last INBOX_STATS_TTL_MS: wait for a fresh one.
      const waiting = await waitFor('a scrape that sees the new row', async () => {
        const s = await scrape(t.url);
        return s.value('hookline_inbox_backlog') === 1 ? s : undefined;
      });
      expect(waiting.value('hookline_inbox_oldest_unprocessed_age_seconds')).toBeGreaterThanOrEqual(90);
      expect(waiting.value('hookline_inbox_oldest_unprocessed_age_seconds')).toBeLessThan(120);
    } finally {
      await t.db.query('DELETE FROM webhook_inbox WHERE id = $1', [id]);
    }
    await waitFor('a scrape that sees the row gone', async () => {
      return (await scrape(t.url)).value('hookline_inbox_backlog') === 0;
    });
  });

  it('reads the job counts of every queue of the role, by state, at scrape time', async () => {
    const queue = t.app.get<Queue>(getQueueToken(QueueName.PaymentPoll));
    const job = await queue.add(
      JobName.PollPayment,
      { paymentId: randomUUID(), poll: 0 },
      { jobId: `metrics-test-${randomUUID()}`, delay: 3_600_000 },
    );
    try {
      const m = await scrape(t.url);
      for (const name of Object.values(QueueName)) {
        for (const state of ['waiting', 'active', 'delayed', 'failed']) {
          expect(m.samples).toContainEqual(
            expect.objectContaining({ name: 'hookline_queue_jobs', labels: { queue: name, state } }),
          );
        }
      }
      expect(m.value('hookline_queue_jobs', { queue: QueueName.PaymentPoll, state: 'delayed' })).toBe(1);
    } finally {
      await job.remove();
    }
    const after = await scrape(t.url);
    expect(after.value('hookline_queue_jobs', { queue: QueueName.PaymentPoll, state: 'delayed' })).toBe(0);
  });

  it('in the psp role: only the PSP queues, no inbox gauges, and 429s counted by route', async () => {
    const psp = await createTestApp({ APP_ROLE: 'psp', RATE_LIMIT_MAX: '1' });
    try {
      const get = () =>
        http(psp.url, 'GET', '/psp/v1/payments/pay_000000000000000000000000', undefined, {
          authorization: `Bearer ${PSP_KEY}`,
        });
      expect((await get()).status).toBe(404);
      expect((await get()).status).toBe(429);
      const m = await scrape(psp.url);
      expect(m.value('hookline_rate_limited_total', { route: '/psp/v1/payments/:id' })).toBe(1);
      expect(m.value('hookline_rate_limited_total')).toBe(1);
      const queues = new Set(m.samples.filter((s) => s.name === 'hookline_queue_jobs').map((s) => s.labels.queue));
      expect([...queues].sort()).toEqual([QueueName.PspDelivery, QueueName.PspSettlement].sort());
      expect(m.has('hookline_inbox_backlog')).toBe(false);
      expect(m.has('hookline_inbox_oldest_unprocessed_age_seconds')).toBe(false);
    } finally {
      await psp.close();
    }
  });
});
