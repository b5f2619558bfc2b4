import { OutboundRetentionTask } from '../../../src/webhooks/outbound/outbound-retention.task.js';
import { register } from '../../factories/endpoints.factory.js';
import type { TestApp } from '../../utils/create-test-app.js';
import { DELIVERY_ENV, ok, useOutboundApp } from '../../utils/outbound.js';

jest.setTimeout(30_000);

describe('outbound webhooks: retention', () => {
  let t: TestApp;
  const { sink } = useOutboundApp(DELIVERY_ENV, (app) => (t = app));

  it('deletes messages past WEBHOOK_RETENTION whose deliveries are final, with their deliveries and attempts', async () => {
    const s = await sink(ok);
    const ep = await register(t, `${s.url}/hook`, { eventTypes: ['retention.test'] });
    const tag = `ret_${Date.now()}`;
    // Written as the engine leaves them, then aged: 40 days old unless said otherwise.
    const message = async (name: string, owner = 'shop', ageDays = 40) =>
      (
        await t.db.query(
          `INSERT INTO webhook_messages (owner, event_id, event_type, payload, created_at)
           VALUES ($1, $2, 'retention.test', '{}', now() - make_interval(days => $3)) RETURNING id`,
          [owner, `evt_${tag}_${name}`, ageDays],
        )
      )[0].id as string;
    const deliveryOf = async (messageId: string, status: 'succeeded' | 'failed' | 'pending') =>
      (
        await t.db.query(
          `INSERT INTO webhook_deliveries (message_id, endpoint_id, status, attempts, next_attempt_at)
           VALUES ($1, $2, $3, 1, CASE WHEN $3 = 'pending' THEN now() + interval '1 day' END) RETURNING id`,
          [messageId, ep.id, status],
        )
      )[0].id as string;
    const succeeded = await message('succeeded');
    const attempted = await deliveryOf(succeeded, 'succeeded');
    await t.db.query(
      `INSERT INTO webhook_attempts (delivery_id, number, started_at, duration_ms, status_code, succeeded)
       VALUES ($1, 1, now() - interval '40 days', 12, 200, true)`,
      [attempted],
    );
    const failed = await message('failed');
    await deliveryOf(failed, 'failed');
    const unsubscribed = await message('unsubscribed'); // no delivery at all
    const pending = await message('pending');
    await deliveryOf(pending, 'pending');
    const recent = await message('recent', 'shop', 1);
    await deliveryOf(recent, 'succeeded');
    const otherOwner = await message('psp', 'psp');

    const retention = t.app.get(OutboundRetentionTask);
    expect(retention.retentionMs).toBe(30 * 86_400_000);
    // Batches of 2: the three to go take two statements.
    expect(await retention.purge('shop', retention.retentionMs, 2)).toBeGreaterThanOrEqual(3);

    const left = await t.db.query(`SELECT id FROM webhook_messages WHERE event_id LIKE $1`, [`evt_${tag}_%`]);
    expect(left.map((r: { id: string }) => r.id).sort()).toEqual([pending, recent, otherOwner].sort());
    const attempts = await t.db.query(`SELECT count(*)::int AS n FROM webhook_attempts WHERE delivery_id = $1`, [
      attempted,
    ]);
    expect(attempts[0].n).toBe(0);
    const deliveries = await t.db.query(
      `SELECT count(*)::int AS n FROM webhook_deliveries WHERE message_id = ANY($1::uuid[])`,
      [[succeeded, failed, unsubscribed]],
    );
    expect(deliveries[0].n).toBe(0);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/hookline_webhook_messages_purged_total\{owner="shop"\} ([3-9]|\d\d+)/);
    await t.db.query(`DELETE FROM webhook_messages WHERE event_id LIKE $1`, [`evt_${tag}_%`]);
  });
});
