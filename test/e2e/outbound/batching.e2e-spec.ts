import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import { Client } from 'pg';
import { QueueName } from '../../../src/queue/queues.js';
import { admin, register } from '../../factories/endpoints.factory.js';
import { http } from '../../factories/orders.factory.js';
import type { TestApp } from '../../utils/create-test-app.js';
import { captureOutput, jsonLines } from '../../utils/capture-output.js';
import {
  DELIVERY_ENV,
  delivery,
  recorderBatches,
  fillWriteSlots,
  ok,
  refuseExcerpt,
  sendTest,
  settled,
  useOutboundApp,
  waitingOnLock,
} from '../../utils/outbound.js';
import { TEST_DATABASE_URL } from '../../utils/test-env.js';
import { waitFor } from '../../utils/wait-for.js';

jest.setTimeout(30_000);

describe('outbound webhooks: recording attempts in batches', () => {
  let t: TestApp;
  const { sink } = useOutboundApp(DELIVERY_ENV, (app) => (t = app));

  it('sends again an attempt whose record failed, and logs why: the delivery stays pending, nothing is lost', async () => {
    const answer = `refused-${Date.now()}`;
    const s = await sink(() => Promise.resolve({ status: 200, body: answer }));
    const ep = await register(t, `${s.url}/hook`);
    // PostgreSQL refuses this sink's attempt rows (by their excerpt, so no other test's) until
    // the constraint goes: the POST is answered, its record fails.
    await t.db.query(
      `ALTER TABLE webhook_attempts ADD CONSTRAINT test_refuse_attempts CHECK (response_excerpt IS DISTINCT FROM '${answer}') NOT VALID`,
    );
    let id = '';
    let output: string;
    try {
      output = await captureOutput(async () => {
        id = await sendTest(t, ep.id);
        // Bull holds the job back after the failed run (its error logged), to run it again.
        const queue = t.app.get<Queue>(getQueueToken(QueueName.WebhookDelivery));
        await waitFor(
          'the job to fail once',
          async () => ((await queue.getJob(id))?.attemptsMade ?? 0) >= 1 || undefined,
        );
        expect(s.requests).toHaveLength(1);
        const [row] = await t.db.query(`SELECT status, attempts FROM webhook_deliveries WHERE id = $1`, [id]);
        expect(row).toEqual({ status: 'pending', attempts: 0 });
      });
    } finally {
      await t.db.query(`ALTER TABLE webhook_attempts DROP CONSTRAINT IF EXISTS test_refuse_attempts`);
    }
    const d = await settled(t, id);
    expect(d).toMatchObject({ status: 'succeeded', lastStatusCode: 200, attempts: 1 });
    expect(d.attemptHistory).toHaveLength(1);
    expect(s.requests).toHaveLength(2);
    expect(new Set(s.requests.map((r) => r.headers['webhook-id']))).toEqual(new Set([d.eventId]));
    const line = jsonLines(output).find((l) => String(l.msg).startsWith(`Delivery ${id} to `));
    expect(line).toMatchObject({ deliveryId: id, endpointId: ep.id });
    expect(String(line!.msg)).toMatch(
      /attempt 1 \(HTTP 200 in \d+ ms\) was sent but could not be recorded \(1 in a row\): .*test_refuse_attempts.*; not sent again for 5000 ms$/,
    );
  });

  it('records a success batch PostgreSQL refuses again one by one: only the refused delivery is sent again', async () => {
    const answer = `refused-in-batch-${Date.now()}`;
    const blocker = await sink(ok);
    const good = await sink(ok);
    const bad = await sink(() => Promise.resolve({ status: 200, body: answer }));
    const epBlocker = await register(t, `${blocker.url}/hook`);
    const epGood = await register(t, `${good.url}/hook`);
    const epBad = await register(t, `${bad.url}/hook`);
    const { queue, successes } = recorderBatches(t);
    const undoRefusal = await refuseExcerpt(t, 'test_refuse_in_batch', answer);
    // The blocker's endpoint row locked: each of its two successes holds one of the success
    // record's two write slots, so the good and the bad success wait and are written together.
    const lock = new Client({ connectionString: TEST_DATABASE_URL });
    await lock.connect();
    let badId = '';
    let output: string;
    try {
      await fillWriteSlots(t, lock, epBlocker.id, 'jsonb_to_recordset');
      const goodId = await sendTest(t, epGood.id);
      badId = await sendTest(t, epBad.id);
      await waitFor('both successes waiting for a write', () => Promise.resolve(successes.waiting === 2 || undefined));
      output = await captureOutput(async () => {
        await lock.query('COMMIT');
        await waitFor(
          'the refused delivery to fail once',
          async () => ((await queue.getJob(badId))?.attemptsMade ?? 0) >= 1 || undefined,
        );
      });
      const rows = await t.db.query(`SELECT id, status, attempts FROM webhook_deliveries WHERE id = ANY($1)`, [
        [goodId, badId],
      ]);
      expect(new Map(rows.map((r: { id: string }) => [r.id, r]))).toEqual(
        new Map([
          [goodId, { id: goodId, status: 'succeeded', attempts: 1 }],
          [badId, { id: badId, status: 'pending', attempts: 0 }],
        ]),
      );
    } finally {
      await lock.query('ROLLBACK').catch(() => undefined);
      await lock.end();
      await undoRefusal();
    }
    const failedRuns = jsonLines(output).filter((l) => /was sent but could not be recorded/.test(String(l.msg)));
    expect(failedRuns.map((l) => l.deliveryId)).toEqual([badId]);
    expect(await settled(t, badId)).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(bad.requests).toHaveLength(2);
    expect(good.requests).toHaveLength(1);
    expect(blocker.requests).toHaveLength(2);
  });

  it('records concurrent failures in one batch, each with its own outcome; one PostgreSQL refuses fails alone', async () => {
    const answer = `refused-failure-${Date.now()}`;
    const calls = new Map<string, number>();
    // First call fails as given, later ones succeed.
    const failOnce = (name: string, status: number, body?: string) => () => {
      const n = (calls.get(name) ?? 0) + 1;
      calls.set(name, n);
      return Promise.resolve(n === 1 ? { status, body } : { status: 200 });
    };
    const blocker = await sink(() => Promise.resolve({ status: 500 }));
    const gone = await sink(() => Promise.resolve({ status: 410 }));
    const flaky = await sink(failOnce('flaky', 500));
    const bad = await sink(failOnce('bad', 500, answer));
    const [epBlocker, epGone, epFlaky, epBad] = [
      await register(t, `${blocker.url}/hook`),
      await register(t, `${gone.url}/hook`),
      await register(t, `${flaky.url}/hook`),
      await register(t, `${bad.url}/hook`),
    ];
    const { queue, failures } = recorderBatches(t);
    const undoRefusal = await refuseExcerpt(t, 'test_refuse_failure', answer);
    // The blocker's row locked before its first failure: its two first failures wait to
    // begin its streak in both write slots, so the next three failures are written together.
    const lock = new Client({ connectionString: TEST_DATABASE_URL });
    await lock.connect();
    const ids: Record<string, string> = {};
    let output: string;
    try {
      await fillWriteSlots(t, lock, epBlocker.id, 'AS x(id, since)');
      for (const [name, ep] of [
        ['gone', epGone],
        ['flaky', epFlaky],
        ['bad', epBad],
      ] as const) {
        ids[name] = await sendTest(t, ep.id);
        const waiting = Object.keys(ids).length;
        await waitFor(`${waiting} failures waiting for a write`, () =>
          Promise.resolve(failures.waiting === waiting || undefined),
        );
      }
      output = await captureOutput(async () => {
        await lock.query('COMMIT');
        await waitFor(
          'the refused failure to fail once',
          async () => ((await queue.getJob(ids.bad))?.attemptsMade ?? 0) >= 1 || undefined,
        );
      });
      const rows = await t.db.query(`SELECT id, status, attempts FROM webhook_deliveries WHERE id = ANY($1)`, [
        [ids.gone, ids.bad],
      ]);
      expect(new Map(rows.map((r: { id: string }) => [r.id, r]))).toEqual(
        new Map([
          [ids.gone, { id: ids.gone, status: 'failed', attempts: 1 }],
          [ids.bad, { id: ids.bad, status: 'pending', attempts: 0 }],
        ]),
      );
    } finally {
      await lock.query('ROLLBACK').catch(() => undefined);
      await lock.end();
      await undoRefusal();
    }
    const failedRuns = jsonLines(output).filter((l) => /was sent but could not be recorded/.test(String(l.msg)));
    expect(failedRuns.map((l) => l.deliveryId)).toEqual([ids.bad]);
    const endpoint = (await http(t.url, 'GET', `/webhook-endpoints/${epGone.id}`, undefined, admin)).body;
    expect(endpoint).toMatchObject({ status: 'disabled', disabledReason: expect.stringMatching(/^answered 410 Gone/) });
    expect(await settled(t, ids.flaky)).toMatchObject({ status: 'succeeded', attempts: 2 });
    // The refused failure was never recorded: the endpoint's next answer is attempt 1.
    expect(await settled(t, ids.bad)).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(bad.requests).toHaveLength(2);
    expect(gone.requests).toHaveLength(1);
  });

  it('does not disable an endpoint whose long streak a success ended while the failure was being recorded', async () => {
    const s = await sink(() => Promise.resolve({ status: 500 }));
    const ep = await register(t, `${s.url}/hook`);
    // Failing for 10 days (WEBHOOK_DISABLE_AFTER is 5d): the next failure would disable it.
    await t.db.query(`UPDATE webhook_endpoints SET failing_since = now() - interval '10 days' WHERE id = $1`, [ep.id]);
    const lock = new Client({ connectionString: TEST_DATABASE_URL });
    await lock.connect();
    let id = '';
    try {
      await lock.query('BEGIN');
      await lock.query('SELECT 1 FROM webhook_endpoints WHERE id = $1 FOR NO KEY UPDATE', [ep.id]);
      id = await sendTest(t, ep.id);
      // The failure read the streak without a lock, found it long enough, and now reads it again under the lock…
      await waitFor(
        'the streak read again under the lock',
        async () => (await waitingOnLock(t, 'coalesce(failing_since')) === 1 || undefined,
      );
      // …while a success ends the streak and commits first.
      await lock.query(`UPDATE webhook_endpoints SET failing_since = NULL, last_success_at = now() WHERE id = $1`, [
        ep.id,
      ]);
      await lock.query('COMMIT');
    } finally {
      await lock.query('ROLLBACK').catch(() => undefined);
      await lock.end();
    }
    const d = await waitFor('the failure recorded', async () => {
      const x = await delivery(t, id);
      return x.attempts >= 1 ? x : undefined;
    });
    expect(d.attemptHistory[0]).toMatchObject({ number: 1, statusCode: 500, succeeded: false });
    const endpoint = (await http(t.url, 'GET', `/webhook-endpoints/${ep.id}`, undefined, admin)).body;
    expect(endpoint).toMatchObject({ status: 'enabled', disabledReason: null });
    // The streak begins again at this failure.
    expect(Date.now() - new Date(endpoint.failingSince).getTime()).toBeLessThan(60_000);
  });

  it('records the failures of an endpoint already failing without writing its row (no queue on its lock)', async () => {
    const s = await sink(() => Promise.resolve({ status: 500 }));
    const ep = await register(t, `${s.url}/hook`);
    const streak = async () =>
      (await t.db.query(`SELECT failing_since FROM webhook_endpoints WHERE id = $1`, [ep.id]))[0]
        .failing_since as Date | null;
    const first = await sendTest(t, ep.id);
    const since = await waitFor('the first failure to begin the streak', streak);
    // With the endpoint's row locked as an update would, the rest of the first delivery's
    // attempts and a second delivery's four are recorded all the same.
    const lock = new Client({ connectionString: TEST_DATABASE_URL });
    await lock.connect();
    try {
      await lock.query('BEGIN');
      await lock.query('SELECT 1 FROM webhook_endpoints WHERE id = $1 FOR NO KEY UPDATE', [ep.id]);
      const second = await sendTest(t, ep.id);
      expect(await settled(t, second)).toMatchObject({ status: 'failed', attempts: 4, lastStatusCode: 500 });
      expect(await settled(t, first)).toMatchObject({ status: 'failed', attempts: 4, lastStatusCode: 500 });
    } finally {
      await lock.query('ROLLBACK').catch(() => undefined);
      await lock.end();
    }
    expect(await streak()).toEqual(since);
    expect(s.requests).toHaveLength(8);
  });
});
