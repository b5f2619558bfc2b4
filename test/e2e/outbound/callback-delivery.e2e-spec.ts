import { randomUUID } from 'node:crypto';
import type { PoolClient } from 'pg';
import { WebhookOutbox } from '../../../src/webhooks/outbound/webhook-outbox.js';
import { createTestApp, type TestApp } from '../../utils/create-test-app.js';

/**
 * The PSP mock's settlement writes its webhook to the payment's callback_url through the
 * outbox. The delivery row finds its endpoint by URL in its own INSERT: a settlement costs
 * the message's statement and the delivery's, not a SELECT of the endpoint besides.
 */
describe('outbound webhooks: the delivery to a callback URL', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  /** Publishes one PSP event with a callback URL in a transaction; the statements its connection sent. */
  async function publish(callbackUrl: string, dropCallback = false) {
    const outbox = t.app.get(WebhookOutbox);
    return t.db.transaction(async (manager) => {
      const client = (await manager.queryRunner!.connect()) as PoolClient;
      const sent: string[] = [];
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
        const q = args[0];
        sent.push(typeof q === 'string' ? q : String((q as { text?: string }).text));
        return query(...args);
      };
      try {
        const published = await outbox.publish(manager, {
          owner: 'psp',
          eventId: `evt_${randomUUID().replace(/-/g, '').slice(0, 24)}`,
          eventType: 'payment.completed',
          payload: { data: { status: 'completed' } },
          callbackUrl,
          dropCallback,
          sendCallbackDirectly: true,
        });
        return { published, sent };
      } finally {
        (client as unknown as { query: unknown }).query = query;
      }
    });
  }

  async function delivery(id: string) {
    const [row] = await t.db.query<{ status: string; last_error: string | null; kind: string; url: string }[]>(
      `SELECT d.status, d.last_error, e.kind, e.url FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
        WHERE d.id = $1`,
      [id],
    );
    return row;
  }

  it('makes the endpoint on a URL’s first use, then writes message and delivery in two statements', async () => {
    const url = `http://127.0.0.1:9/cb-${randomUUID()}`;
    const first = await publish(url);
    expect(first.published.callbackDeliveryId).not.toBeNull();
    expect(await delivery(first.published.callbackDeliveryId!)).toEqual({
      status: 'pending',
      last_error: null,
      kind: 'callback',
      url,
    });
    const endpoints = await t.db.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM webhook_endpoints WHERE kind = 'callback' AND url = $1`,
      [url],
    );
    expect(endpoints[0].n).toBe(1);

    const second = await publish(url);
    expect(second.sent).toHaveLength(2);
    expect(second.sent.some((s) => /SELECT id FROM webhook_endpoints/.test(s))).toBe(false);
    expect(await delivery(second.published.callbackDeliveryId!)).toMatchObject({ status: 'pending', url });
    // Not sent by a job: the publisher sends it itself after commit.
    expect(second.published.pending).toEqual([]);
  });

  it('records a dropped callback as failed, never sent', async () => {
    const url = `http://127.0.0.1:9/cb-${randomUUID()}`;
    const { published } = await publish(url, true);
    expect(await delivery(published.callbackDeliveryId!)).toMatchObject({
      status: 'failed',
      last_error: 'dropped by PSP chaos (never sent)',
    });
  });
});
