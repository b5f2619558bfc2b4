import { randomBytes } from 'node:crypto';
import { callerIdOf } from '../../src/http/auth/caller-identity.js';
import { MetricsRegistry } from '../../src/metrics/metrics-registry.js';
import { http } from '../factories/orders.factory.js';
import { postPspEvent, pspEvent } from '../factories/psp-events.factory.js';
import { createTestApp, type TestApp } from '../utils/create-test-app.js';
import { captureOutput, jsonLines } from '../utils/capture-output.js';
import { signWebhook } from '../utils/sign-webhook.js';
import { ADMIN_KEY } from '../utils/test-env.js';
import { waitFor } from '../utils/wait-for.js';

const ADMIN = { authorization: `Bearer ${ADMIN_KEY}` };

/**
 * DELETE /webhooks/inbox/:id: an operator discards a dead inbound event judged never to
 * apply. Only a dead row goes, in one statement, so a replay that takes the row first wins.
 */
describe('inbox dead letters: discard', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ LOG_LEVEL: 'warn', LOG_FORMAT: 'json' });
  });
  afterAll(async () => {
    await t.close();
  });

  type Status = 'dead' | 'processed' | 'ignored';
  /** An inbox row as the applier leaves it: dead after 3 attempts, or applied. */
  const inboxRow = async (status: Status, eventId = `evt_discard_${randomBytes(6).toString('hex')}`) => {
    const payload = pspEvent({ eventId, pspPaymentId: 'pay_discard_unknown', amount: 100 });
    const [r] = await t.db.query<{ id: string }[]>(
      `INSERT INTO webhook_inbox (source, event_id, event_type, payload, received_at, verified_at, status, attempts,
                                  last_error, dead_at, processed_at)
       VALUES ('psp', $1, $2, $3, now(), now(), $4, $5, $6,
               CASE WHEN $4 = 'dead' THEN now() END, CASE WHEN $4 <> 'dead' THEN now() END)
       RETURNING id`,
      [eventId, payload.type, payload, status, status === 'dead' ? 3 : 1, status === 'dead' ? 'never applies' : null],
    );
    return { id: r.id, eventId, payload };
  };
  const rowOf = async (id: string) =>
    (
      await t.db.query<{ status: string; dead_at: Date | null; processed_at: Date | null }[]>(
        `SELECT status, dead_at, processed_at FROM webhook_inbox WHERE id = $1`,
        [id],
      )
    )[0];
  const listedIds = async () =>
    ((await http(t.url, 'GET', '/webhooks/inbox/dead?limit=100', undefined, ADMIN)).body.data as { id: string }[]).map(
      (r) => r.id,
    );
  const discardedCount = async () =>
    ((await t.app.get(MetricsRegistry).getSingleMetric('hookline_inbox_discarded_total')?.get())?.values ?? []).reduce(
      (sum, v) => sum + v.value,
      0,
    );

  it('deletes a dead row (204): gone, no longer listed, logged with the event and the caller, counted', async () => {
    const dead = await inboxRow('dead');
    expect(await listedIds()).toContain(dead.id);
    const before = await discardedCount();

    let res!: Awaited<ReturnType<typeof http>>;
    const output = await captureOutput(async () => {
      res = await http(t.url, 'DELETE', `/webhooks/inbox/${dead.id}`, undefined, ADMIN);
    });
    expect(res.status).toBe(204);
    expect(res.body).toBeUndefined();
    expect(await rowOf(dead.id)).toBeUndefined();
    expect(await listedIds()).not.toContain(dead.id);
    expect(await discardedCount()).toBe(before + 1);
    const told = jsonLines(output).filter((l) => String(l.msg).startsWith(`Discarded dead inbox row ${dead.id} `));
    expect(told).toEqual([
      expect.objectContaining({
        msg: `Discarded dead inbox row ${dead.id} (psp ${dead.eventId} payment.completed) by admin:${callerIdOf(ADMIN_KEY)}`,
        eventId: dead.eventId,
        inboxId: dead.id,
        source: 'psp',
        pspPaymentId: 'pay_discard_unknown',
        caller: `admin:${callerIdOf(ADMIN_KEY)}`,
      }),
    ]);

    // Discarding is final: a second time there is nothing (404), and a redelivery of the
    // same event id is no longer a duplicate but a new event.
    const again = await http(t.url, 'DELETE', `/webhooks/inbox/${dead.id}`, undefined, ADMIN);
    expect(again).toMatchObject({ status: 404, body: { code: 'WEBHOOK_INBOX.NOT_FOUND' } });
    const redelivered = await postPspEvent(t.url, signWebhook(dead.payload));
    expect(redelivered.status).toBe(202);
    const [stored] = await t.db.query<{ id: string }[]>(`SELECT id FROM webhook_inbox WHERE event_id = $1`, [
      dead.eventId,
    ]);
    expect(stored.id).not.toBe(dead.id);
    await waitFor('the redelivered event applied', async () => (await rowOf(stored.id))?.processed_at);
  });

  it('refuses a row that is not dead (409 WEBHOOK_INBOX.NOT_DEAD) and leaves it as it was', async () => {
    for (const status of ['processed', 'ignored'] as const) {
      const row = await inboxRow(status);
      const before = await rowOf(row.id);
      const res = await http(t.url, 'DELETE', `/webhooks/inbox/${row.id}`, undefined, ADMIN);
      expect(res).toMatchObject({ status: 409, body: { code: 'WEBHOOK_INBOX.NOT_DEAD', inboxStatus: status } });
      expect(await rowOf(row.id)).toEqual(before);
    }
  });

  it('answers 404 WEBHOOK_INBOX.NOT_FOUND for an unknown id and for a malformed one, as replay does', async () => {
    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
      const res = await http(t.url, 'DELETE', `/webhooks/inbox/${id}`, undefined, ADMIN);
      expect(res).toMatchObject({ status: 404, body: { code: 'WEBHOOK_INBOX.NOT_FOUND' } });
      const replay = await http(t.url, 'POST', `/webhooks/inbox/${id}/replay`, undefined, ADMIN);
      expect(replay).toMatchObject({ status: 404, body: { code: 'WEBHOOK_INBOX.NOT_FOUND' } });
    }
  });

  it('refuses a caller without the admin key (401) and deletes nothing', async () => {
    const dead = await inboxRow('dead');
    const none = await http(t.url, 'DELETE', `/webhooks/inbox/${dead.id}`, undefined, {});
    expect(none).toMatchObject({ status: 401, body: { code: 'AUTH.MISSING_KEY' } });
    const shop = await http(t.url, 'DELETE', `/webhooks/inbox/${dead.id}`); // the shop key
    expect(shop).toMatchObject({ status: 401, body: { code: 'AUTH.INVALID_KEY' } });
    expect(await rowOf(dead.id)).toMatchObject({ status: 'dead' });
  });

  it('leaves a row a concurrent replay takes first: the discard waits for it, then answers 409', async () => {
    const dead = await inboxRow('dead');
    // A replay in flight: its UPDATE done, not committed yet.
    const replay = t.db.createQueryRunner();
    await replay.connect();
    let discard: Promise<Awaited<ReturnType<typeof http>>> | undefined;
    try {
      await replay.startTransaction();
      const [{ pid }] = (await replay.query(`SELECT pg_backend_pid() AS pid`)) as { pid: number }[];
      await replay.query(
        `UPDATE webhook_inbox SET status = 'received', dead_at = NULL, attempts = 0, queued_at = now() WHERE id = $1`,
        [dead.id],
      );
      discard = http(t.url, 'DELETE', `/webhooks/inbox/${dead.id}`, undefined, ADMIN);
      await waitFor('the discard waiting for the replay’s row lock', async () => {
        const [{ n }] = await t.db.query<{ n: number }[]>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND $1::int = ANY(pg_blocking_pids(pid))`,
          [pid],
        );
        return n > 0;
      });
      await replay.commitTransaction();
    } finally {
      if (replay.isTransactionActive) await replay.rollbackTransaction();
      await replay.release();
    }
    expect(await discard).toMatchObject({
      status: 409,
      body: { code: 'WEBHOOK_INBOX.NOT_DEAD', inboxStatus: 'received' },
    });
    expect(await rowOf(dead.id)).toMatchObject({ status: 'received', dead_at: null });
  });

  it('is documented in Swagger beside the replay routes', async () => {
    const doc = (await http(t.url, 'GET', '/docs-json', undefined, {})).body;
    const op = doc.paths['/webhooks/inbox/{id}'].delete;
    expect(op.tags).toEqual(['webhooks (inbound)']);
    expect(op.security).toEqual([{ admin: [] }]);
    expect(Object.keys(op.responses).sort()).toEqual(['204', '401', '404', '409']);
  });
});
