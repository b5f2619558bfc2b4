import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import { Redis } from 'ioredis';
import { PinoLogger } from 'nestjs-pino';
import { QueueName } from '../../../src/queue/queues.js';
import { WebhookOutbox } from '../../../src/webhooks/outbound/webhook-outbox.js';
import { admin, register } from '../../factories/endpoints.factory.js';
import { createOrder, http, payOrder } from '../../factories/orders.factory.js';
import type { TestApp } from '../../utils/create-test-app.js';
import { captureOutput, jsonLines } from '../../utils/capture-output.js';
import { verifies } from '../../utils/http-sink.js';
import { DELIVERY_ENV, ok, sendTest, useOutboundApp } from '../../utils/outbound.js';
import { TEST_REDIS_URL } from '../../utils/test-env.js';
import { waitFor } from '../../utils/wait-for.js';

jest.setTimeout(30_000);

describe('outbound webhooks: delivery', () => {
  let t: TestApp;
  const { sink } = useOutboundApp(DELIVERY_ENV, (app) => (t = app));

  it('keeps every delivery when Redis loses the queue between commit and enqueue (the sweeper re-enqueues)', async () => {
    const s = await sink(ok);
    const ep = await register(t, `${s.url}/hook`, { eventTypes: ['flush.ping'] });
    const outbox = t.app.get(WebhookOutbox);
    const tag = Date.now();
    await t.db.transaction(async (m) => {
      for (let i = 0; i < 10; i++) {
        // Held back 300 ms, so the jobs are still waiting in Redis when it is flushed.
        await outbox.publish(m, {
          owner: 'shop',
          eventId: `evt_flush_${tag}_${i}`,
          eventType: 'flush.ping',
          payload: { type: 'flush.ping', i },
          delayMs: 300,
        });
      }
    });
    const redis = new Redis(TEST_REDIS_URL);
    try {
      const keys = await redis.keys(`${t.env.REDIS_PREFIX}:webhook-delivery:*`);
      expect(keys.length).toBeGreaterThan(0);
      await redis.del(...keys);
    } finally {
      redis.disconnect();
    }
    const succeeded = async () =>
      (
        await t.db.query(
          `SELECT count(*)::int AS n FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'succeeded'`,
          [ep.id],
        )
      )[0].n as number;
    await waitFor('10 deliveries after the flush', async () => (await succeeded()) === 10, { timeoutMs: 10_000 });
    expect(new Set(s.requests.map((r) => r.headers['webhook-id'])).size).toBe(10);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/hookline_webhook_deliveries_swept_total\{owner="shop"\} ([1-9]\d*)/);
  });

  it.each([200, 500])(
    'lets an attempt answered %d end quietly when its endpoint was deleted while it ran (nothing recorded, no retry)',
    async (status) => {
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      const s = await sink(async () => {
        await held;
        return { status };
      });
      const ep = await register(t, `${s.url}/hook`);
      const queue = t.app.get<Queue>(getQueueToken(QueueName.WebhookDelivery));
      let id = '';
      const level = PinoLogger.root.level;
      PinoLogger.root.level = 'info';
      let output: string;
      try {
        output = await captureOutput(async () => {
          id = await sendTest(t, ep.id);
          await waitFor('the POST', () => Promise.resolve(s.requests.length >= 1 || undefined));
          expect((await http(t.url, 'DELETE', `/webhook-endpoints/${ep.id}`, undefined, admin)).status).toBe(204);
          release();
          // Completed jobs are removed; one that failed would wait in Bull to run again.
          await waitFor('the job to complete', async () => ((await queue.getJob(id)) === null ? true : undefined));
        });
      } finally {
        PinoLogger.root.level = level;
      }
      const mine = jsonLines(output).filter((l) => l.deliveryId === id);
      expect(mine.filter((l) => /did not complete|could not be recorded/.test(String(l.msg)))).toEqual([]);
      if (status === 500) {
        expect(mine.map((l) => l.msg)).toContainEqual(
          expect.stringMatching(
            /^Delivery \S+ was deleted with its endpoint while its attempt 1 \(HTTP 500 in \d+ ms\) ran: nothing to record$/,
          ),
        );
      }
      const [{ n }] = await t.db.query(`SELECT count(*)::int AS n FROM webhook_attempts WHERE delivery_id = $1`, [id]);
      expect(n).toBe(0);
      expect(s.requests).toHaveLength(1);
    },
  );

  it('publishes order.paid to subscribed endpoints only, in the transaction that pays the order', async () => {
    const paid = await sink(ok);
    const failedOnly = await sink(ok);
    const ep = await register(t, `${paid.url}/orders`, { eventTypes: ['order.paid'] });
    await register(t, `${failedOnly.url}/orders`, { eventTypes: ['order.payment_failed'] });
    const order = await createOrder(t.url);
    await payOrder(t.url, order.id);
    const req = await waitFor('order.paid', () =>
      Promise.resolve(paid.requests.find((r) => JSON.parse(r.body).data?.order_id === order.id)),
    );
    expect(verifies(ep.secret, req)).toBe(true);
    expect(JSON.parse(req.body)).toMatchObject({
      type: 'order.paid',
      data: { order_id: order.id, status: 'paid', amount: order.amount, currency: order.currency },
    });
    expect(failedOnly.requests.filter((r) => JSON.parse(r.body).data?.order_id === order.id)).toHaveLength(0);
  });
});
