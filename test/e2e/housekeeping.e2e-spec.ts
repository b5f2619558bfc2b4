import { SchedulerRegistry } from '@nestjs/schedule';
import { createTestApp, type TestApp } from '../utils/create-test-app.js';
import { waitFor } from '../utils/wait-for.js';

/**
 * The retentions and the Idempotency-Key purge run HOUSEKEEPING_DELAY_MS after a worker
 * starts, not only every 15 min: a worker restarted more often than that (deploys,
 * autoscaling) still deletes what is past retention.
 */
describe('housekeeping at boot', () => {
  const tag = `hk_${Date.now()}_${Math.random().toString(36).slice(2, 8)}`;
  let seeder: TestApp;
  let worker: TestApp | undefined;

  beforeAll(async () => {
    // Creates and migrates the test database; its own housekeeping waits 15 min.
    seeder = await createTestApp();
  });
  afterAll(async () => {
    await worker?.close();
    await seeder.db.query(`DELETE FROM webhook_inbox WHERE source = $1`, [tag]);
    await seeder.db.query(`DELETE FROM webhook_messages WHERE event_id LIKE $1`, [`${tag}%`]);
    await seeder.db.query(`DELETE FROM idempotency_keys WHERE scope = $1`, [tag]);
    await seeder.close();
  });

  it('a worker deletes what is past retention HOUSEKEEPING_DELAY_MS after it starts, and keeps the rest', async () => {
    const db = seeder.db;
    const inbox = (eventId: string, processedAgo: string) =>
      db.query(
        `INSERT INTO webhook_inbox (source, event_id, event_type, payload, received_at, verified_at, queued_at, processed_at, status)
         VALUES ($1, $2, 'payment.completed', '{}', now() - $3::interval, now() - $3::interval, now() - $3::interval,
                 now() - $3::interval, 'applied')`,
        [tag, eventId, processedAgo],
      );
    const message = (eventId: string, ago: string) =>
      db.query(
        `INSERT INTO webhook_messages (owner, event_id, event_type, payload, created_at)
         VALUES ('shop', $1, 'order.paid', '{}', now() - $2::interval)`,
        [eventId, ago],
      );
    const key = (k: string, ago: string) =>
      db.query(
        `INSERT INTO idempotency_keys (scope, key, request_hash, method, path, status, created_at, locked_at)
         VALUES ($1, $2, 'h', 'POST', '/orders', 'completed', now() - $3::interval, now() - $3::interval)`,
        [tag, k, ago],
      );
    await inbox(`${tag}_old`, '40 days');
    await inbox(`${tag}_recent`, '2 days');
    await message(`${tag}_old`, '40 days');
    await message(`${tag}_recent`, '1 day');
    await key('old', '25 hours');
    await key('recent', '1 hour');

    const left = async () => ({
      inbox: (await db.query(`SELECT event_id FROM webhook_inbox WHERE source = $1 ORDER BY 1`, [tag])).map(
        (r: { event_id: string }) => r.event_id,
      ),
      messages: (
        await db.query(`SELECT event_id FROM webhook_messages WHERE event_id LIKE $1 ORDER BY 1`, [`${tag}%`])
      ).map((r: { event_id: string }) => r.event_id),
      keys: (await db.query(`SELECT key FROM idempotency_keys WHERE scope = $1 ORDER BY 1`, [tag])).map(
        (r: { key: string }) => r.key,
      ),
    });
    // Nothing deletes them while only the seeder runs (its housekeeping is 15 min away).
    expect(await left()).toEqual({
      inbox: [`${tag}_old`, `${tag}_recent`],
      messages: [`${tag}_old`, `${tag}_recent`],
      keys: ['old', 'recent'],
    });

    worker = await createTestApp({ APP_ROLE: 'worker', HOUSEKEEPING_DELAY_MS: '200' });
    const after = await waitFor('the boot-time housekeeping', async () => {
      const now = await left();
      return now.inbox.length === 1 && now.messages.length === 1 && now.keys.length === 1 ? now : undefined;
    });
    expect(after).toEqual({ inbox: [`${tag}_recent`], messages: [`${tag}_recent`], keys: ['recent'] });
    // Each handed over to its 15-min interval, which shutdown clears.
    const scheduler = worker.app.get(SchedulerRegistry);
    await waitFor('the intervals registered', () =>
      Promise.resolve(!scheduler.getTimeouts().some((n) => n.endsWith(':first'))),
    );
    expect(scheduler.getIntervals()).toEqual(
      expect.arrayContaining(['inbox-retention', 'outbound-retention', 'idempotency-purge']),
    );
  });
});
