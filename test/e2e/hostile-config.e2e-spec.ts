import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import { Client } from 'pg';
import { formatDuration } from '../../src/common/duration.js';
import { MAX_DELIVERY_WAIT_MS, MAX_RETRY_STEP_MS } from '../../src/config/bounds.js';
import { QueueName } from '../../src/queue/queues.js';
import { OutboundMetrics } from '../../src/webhooks/outbound/outbound-metrics.js';
import { admin, register } from '../factories/endpoints.factory.js';
import { http } from '../factories/orders.factory.js';
import { captureOutput } from '../utils/capture-output.js';
import { createTestApp, type TestApp } from '../utils/create-test-app.js';
import { startSink } from '../utils/http-sink.js';
import { sendTest } from '../utils/outbound.js';
import { PSP_KEY, TEST_DATABASE_URL } from '../utils/test-env.js';
import { waitFor } from '../utils/wait-for.js';

jest.setTimeout(60_000);

const psp = { authorization: `Bearer ${PSP_KEY}`, 'content-type': 'application/json' };

/** One statement on a connection of the test's own (triggers, clean-up), outside the app's pool. */
async function sql(text: string): Promise<void> {
  const client = new Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

async function unrecorded(t: TestApp): Promise<number> {
  const { values } = await t.app.get(OutboundMetrics).unrecorded.get();
  return values.find((v) => v.labels.owner === 'shop')?.value ?? 0;
}

/** When Bull runs the delivery's job next (ms since the epoch), or null when it is not waiting on a delay. */
async function jobDueAt(t: TestApp, deliveryId: string): Promise<number | null> {
  const queue = t.app.get<Queue>(getQueueToken(QueueName.WebhookDelivery), { strict: false });
  const job = await queue.getJob(deliveryId);
  if (!job || (await job.getState()) !== 'delayed') return null;
  const score = await queue.client.zscore(queue.toKey('delayed'), deliveryId);
  return score === null ? null : Number(score) / 4096;
}

async function deliveryRow(t: TestApp, id: string) {
  const [row] = await t.db.query<
    { status: string; attempts: number; last_error: string | null; due_in_ms: number | null }[]
  >(
    `SELECT status, attempts, last_error,
            (extract(epoch FROM next_attempt_at - now()) * 1000)::float8 AS due_in_ms
       FROM webhook_deliveries WHERE id = $1`,
    [id],
  );
  return row;
}

describe('an attempt whose outcome PostgreSQL refuses to record', () => {
  let t: TestApp;
  const step = 20_000;

  beforeAll(async () => {
    // One step of 20 s: the engine's wait after an unrecorded attempt is at least that,
    // where the unexpected-error retry that called the endpoint again every 5 s was not.
    t = await createTestApp({ WEBHOOK_RETRY_SCHEDULE: formatDuration(step), LOG_FORMAT: 'json' });
  });
  afterAll(async () => {
    await t.close();
    await sql(`DROP TRIGGER IF EXISTS hostile_refuse ON webhook_attempts; DROP FUNCTION IF EXISTS hostile_refuse();
               DELETE FROM webhook_endpoints WHERE kind = 'registered'`);
  });

  it.each([
    ['failed', 500],
    ['succeeded', 200],
  ])('is held back, logged and counted, not sent again at once (the attempt %s, HTTP %i)', async (_outcome, status) => {
    const sink = await startSink(() => Promise.resolve({ status }));
    try {
      const endpointId = (await register(t, `${sink.url}/hook`)).id;
      // PostgreSQL refuses every attempt row of this endpoint, as it refused the
      // out-of-range wait of a 30-day step: the outcome cannot be recorded.
      await sql(`CREATE OR REPLACE FUNCTION hostile_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
                   BEGIN
                     IF EXISTS (SELECT 1 FROM webhook_deliveries WHERE id = NEW.delivery_id
                                   AND endpoint_id = '${endpointId}') THEN
                       RAISE EXCEPTION 'refused by the hostile-config test';
                     END IF;
                     RETURN NEW;
                   END $$;
                   DROP TRIGGER IF EXISTS hostile_refuse ON webhook_attempts;
                   CREATE TRIGGER hostile_refuse BEFORE INSERT ON webhook_attempts
                     FOR EACH ROW EXECUTE FUNCTION hostile_refuse();`);
      const before = await unrecorded(t);
      let deliveryId = '';
      const output = await captureOutput(async () => {
        deliveryId = await sendTest(t, endpointId);
        await waitFor('the first request at the sink', () => Promise.resolve(sink.requests.length >= 1));
        await waitFor('the unrecorded attempt counted', async () => (await unrecorded(t)) >= before + 1);
        await waitFor('the delivery job delayed', async () => (await jobDueAt(t, deliveryId)) !== null);
      });
      const line = output
        .split('\n')
        .find((l) => l.includes(deliveryId) && l.includes('was sent but could not be recorded'));
      expect(line).toMatch(/refused by the hostile-config test.*not sent again for \d+ ms/);

      // The job waits at least the schedule's step, and the row says so (the sweeper leaves it alone).
      const dueAt = (await jobDueAt(t, deliveryId))!;
      expect(dueAt - Date.now()).toBeGreaterThan(step - 5000);
      const row = await deliveryRow(t, deliveryId);
      expect(row).toMatchObject({ status: 'pending', attempts: 0 });
      expect(row.due_in_ms).toBeGreaterThan(step - 5000);
      expect(row.last_error).toMatch(/attempt 1 .* was sent but could not be recorded \(1 in a row\)/);
      expect(sink.requests).toHaveLength(1);
      expect(await unrecorded(t)).toBe(before + 1);
    } finally {
      await sql(`DROP TRIGGER IF EXISTS hostile_refuse ON webhook_attempts`);
      await sink.close();
    }
  });
});

describe('the largest wait the configuration allows', () => {
  it('is stored and scheduled: a step at its maximum, with a Retry-After far beyond it', async () => {
    const t = await createTestApp({ WEBHOOK_RETRY_SCHEDULE: formatDuration(MAX_RETRY_STEP_MS) });
    const sink = await startSink(() => Promise.resolve({ status: 503, headers: { 'retry-after': '9'.repeat(40) } }));
    try {
      const deliveryId = await sendTest(t, (await register(t, `${sink.url}/hook`)).id);
      const row = await waitFor('the failed attempt recorded', async () => {
        const r = await deliveryRow(t, deliveryId);
        return r.attempts === 1 ? r : undefined;
      });
      expect(row.status).toBe('pending');
      // The Retry-After is honoured up to twice the step: 14 days, written as int4 ms.
      expect(row.due_in_ms).toBeGreaterThan(MAX_DELIVERY_WAIT_MS - 60_000);
      expect(row.due_in_ms).toBeLessThanOrEqual(MAX_DELIVERY_WAIT_MS);
      const dueAt = await waitFor('the delivery job delayed', () => jobDueAt(t, deliveryId));
      expect(dueAt - Date.now()).toBeGreaterThan(MAX_DELIVERY_WAIT_MS - 60_000);
      expect(await unrecorded(t)).toBe(0);
      expect(sink.requests).toHaveLength(1);
    } finally {
      await t.close();
      await sink.close();
      await sql(`DELETE FROM webhook_endpoints WHERE kind = 'registered'`);
    }
  });
});

describe('values that arrive at run time', () => {
  it('are refused above their bounds with a problem+json, and change nothing', async () => {
    const t = await createTestApp();
    try {
      const chaosBefore = (await http(t.url, 'GET', '/psp/v1/chaos', undefined, psp)).body;
      const chaosCases = [
        { settleDelayMs: { min: 0, max: 600_001 } },
        { deliveryDelayMs: { min: 0, max: 2 ** 31 } },
        { settleDelayMs: { min: 0, max: 1e300 } },
        { deliveryDelayMs: { min: -1, max: 10 } },
        { dropRate: 1.5 },
        { declineRate: -0.1 },
      ];
      const endpointCases = [{ rateLimitPerS: 10_001 }, { rateLimitPerS: 2 ** 31 }, { rateLimitPerS: 0 }];
      let refused = 0;
      for (const body of chaosCases) {
        const res = await http(t.url, 'PUT', '/psp/v1/chaos', body, psp);
        expect(res.status).toBe(400);
        expect(res.headers.get('content-type')).toContain('application/problem+json');
        expect(res.body.code).toBe('VALIDATION.FAILED');
        refused++;
      }
      const [{ n: endpointsBefore }] = await t.db.query<{ n: number }[]>(
        `SELECT count(*)::int AS n FROM webhook_endpoints`,
      );
      for (const body of endpointCases) {
        const res = await http(t.url, 'POST', '/webhook-endpoints', { url: 'http://127.0.0.1:9/hook', ...body }, admin);
        expect(res.status).toBe(400);
        expect(res.body.code).toBe('VALIDATION.FAILED');
        refused++;
      }
      expect(refused).toBe(chaosCases.length + endpointCases.length);
      expect((await http(t.url, 'GET', '/psp/v1/chaos', undefined, psp)).body).toEqual(chaosBefore);
      const [{ n: endpointsAfter }] = await t.db.query<{ n: number }[]>(
        `SELECT count(*)::int AS n FROM webhook_endpoints`,
      );
      expect(endpointsAfter).toBe(endpointsBefore);
    } finally {
      await t.close();
    }
  });
});
