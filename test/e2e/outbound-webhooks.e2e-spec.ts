import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import { Redis } from 'ioredis';
import { PinoLogger } from 'nestjs-pino';
import { Client } from 'pg';
import { GroupCommit } from '../../src/common/db/group-commit.js';
import { QueueName } from '../../src/queue/queues.js';
import { OutboundRetention } from '../../src/webhooks/outbound/outbound-retention.js';
import { SigningSecrets } from '../../src/webhooks/outbound/signing-secrets.js';
import { WebhookDispatcher } from '../../src/webhooks/outbound/webhook-dispatcher.js';
import { WebhookOutbox } from '../../src/webhooks/outbound/webhook-outbox.js';
import { createOrder, http, payOrder } from '../factories/orders.factory.js';
import { createTestApp, type TestApp } from '../utils/create-test-app.js';
import { captureOutput, jsonLines } from '../utils/capture-output.js';
import { startSink, verifies, type SinkHandler } from '../utils/http-sink.js';
import { ADMIN_KEY, PSP_KEY, TEST_DATABASE_URL, TEST_REDIS_URL } from '../utils/test-env.js';
import { waitFor } from '../utils/wait-for.js';

jest.setTimeout(30_000);

const admin = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' };
const psp = { authorization: `Bearer ${PSP_KEY}`, 'content-type': 'application/json' };
const ok: SinkHandler = () => Promise.resolve({ status: 200 });

/**
 * Endpoints live in the shared test database: leave none behind for the suites that
 * follow. Run after the app is closed, so no delivery is being recorded meanwhile.
 */
async function forgetEndpoints(): Promise<void> {
  const client = new Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DELETE FROM webhook_endpoints WHERE kind = 'registered'`);
  } finally {
    await client.end();
  }
}

interface Endpoint {
  id: string;
  secret: string;
  status: string;
  disabledReason: string | null;
}

async function register(t: TestApp, url: string, body: Record<string, unknown> = {}, headers = admin, prefix = '') {
  const res = await http(t.url, 'POST', `${prefix}/webhook-endpoints`, { url, ...body }, headers);
  if (res.status !== 201) throw new Error(`register: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as Endpoint;
}

/** Sends a webhook.test message to the endpoint; answers the delivery id. */
async function sendTest(t: TestApp, endpointId: string): Promise<string> {
  const res = await http(t.url, 'POST', `/webhook-endpoints/${endpointId}/test`, undefined, admin);
  expect(res.status).toBe(202);
  return res.body.deliveryId as string;
}

async function delivery(t: TestApp, id: string) {
  return (await http(t.url, 'GET', `/webhook-deliveries/${id}`, undefined, admin)).body as {
    status: string;
    attempts: number;
    lastStatusCode: number | null;
    lastError: string | null;
    eventId: string;
    attemptHistory: {
      number: number;
      statusCode: number | null;
      error: string | null;
      succeeded: boolean;
      responseExcerpt: string | null;
    }[];
  };
}

const settled = (t: TestApp, id: string) =>
  waitFor(`delivery ${id} final`, async () => {
    const d = await delivery(t, id);
    return d.status !== 'pending' ? d : undefined;
  });

/** A server that reads requests and never answers them (until closed). */
async function hangingServer(): Promise<{ url: string; received: () => number; close: () => Promise<void> }> {
  let n = 0;
  const server: Server = createServer(() => {
    n++;
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`,
    received: () => n,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Backends waiting on a lock in a statement whose text contains `fragment`. */
async function waitingOnLock(t: TestApp, fragment: string): Promise<number> {
  const [{ n }] = await t.db.query(
    `SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%' || $1 || '%'`,
    [fragment],
  );
  return n as number;
}

/**
 * Locks an endpoint's row (as an update would) in `lock`'s open transaction and sends it
 * two test messages: their records, each waiting on the lock in a statement containing
 * `fragment`, hold both of the batched write's slots until `lock` ends.
 */
async function fillWriteSlots(t: TestApp, lock: Client, endpointId: string, fragment: string): Promise<void> {
  await lock.query('BEGIN');
  await lock.query('SELECT 1 FROM webhook_endpoints WHERE id = $1 FOR NO KEY UPDATE', [endpointId]);
  for (const n of [1, 2]) {
    await sendTest(t, endpointId);
    await waitFor(`write ${n} waiting on the lock`, async () => (await waitingOnLock(t, fragment)) === n || undefined);
  }
}

/** The dispatcher's batched writes and the delivery queue, as the batch tests watch them. */
function dispatcherInternals(t: TestApp) {
  const dispatcher: unknown = t.app.get(WebhookDispatcher);
  return {
    queue: t.app.get<Queue>(getQueueToken(QueueName.WebhookDelivery)),
    ...(dispatcher as { successes: GroupCommit<unknown, void>; failures: GroupCommit<unknown, unknown> }),
  };
}

/** Publishes `n` messages of `eventType` in one transaction (`{ type, i }` each, event ids unique to this call). */
async function publishPings(t: TestApp, eventType: string, n: number): Promise<void> {
  const outbox = t.app.get(WebhookOutbox);
  const tag = `${Date.now()}_${Math.random().toString(36).slice(2, 8)}`;
  await t.db.transaction(async (manager) => {
    for (let i = 0; i < n; i++) {
      await outbox.publish(manager, {
        owner: 'shop',
        eventId: `evt_${eventType.replace('.', '_')}_${tag}_${i}`,
        eventType,
        payload: { type: eventType, i },
      });
    }
  });
}

/** Makes PostgreSQL refuse an attempt whose answer was `excerpt` (old rows untouched); answers the undo. */
async function refuseExcerpt(t: TestApp, name: string, excerpt: string): Promise<() => Promise<void>> {
  await t.db.query(
    `ALTER TABLE webhook_attempts ADD CONSTRAINT ${name} CHECK (response_excerpt IS DISTINCT FROM '${excerpt}') NOT VALID`,
  );
  return async () => {
    await t.db.query(`ALTER TABLE webhook_attempts DROP CONSTRAINT IF EXISTS ${name}`);
  };
}

describe('outbound webhooks: delivery', () => {
  let t: TestApp;
  const sinks: { close(): Promise<void> }[] = [];
  const sink = async (handler: SinkHandler) => {
    const s = await startSink(handler);
    sinks.push(s);
    return s;
  };

  beforeAll(async () => {
    t = await createTestApp({
      WEBHOOK_RETRY_SCHEDULE: '100ms,200ms,300ms',
      WEBHOOK_ATTEMPT_TIMEOUT_MS: '5000',
      WEBHOOK_DELIVERY_CONCURRENCY: '8',
      WEBHOOK_ENDPOINT_CONCURRENCY: '2',
      WEBHOOK_SWEEP_INTERVAL_MS: '200',
      WEBHOOK_SWEEP_STALE_MS: '200',
    });
  });
  afterAll(async () => {
    await t.close();
    await forgetEndpoints();
    await Promise.all(sinks.map((s) => s.close()));
  });

  it('retries a sink that fails twice and records three attempts, the last a success', async () => {
    const s = await sink((_req, n) => Promise.resolve(n <= 2 ? { status: 500, body: `boom ${n}` } : { status: 204 }));
    const ep = await register(t, `${s.url}/hook`);
    const id = await sendTest(t, ep.id);
    const d = await settled(t, id);
    expect(d).toMatchObject({ status: 'succeeded', lastStatusCode: 204, lastError: null });
    // The sink answered 500, 500, then 204, and every attempt is on record. On a busy
    // machine an attempt can also end in a transport error (a reused keep-alive socket
    // closed by the sink, or the answer later than the attempt's timeout): it is a failed
    // attempt without a status code, retried like the others.
    expect(s.requests).toHaveLength(3);
    expect(d.attemptHistory.at(-1)).toMatchObject({ statusCode: 204, succeeded: true });
    const failedAnswers = d.attemptHistory.slice(0, -1).filter((a) => a.statusCode !== null);
    const unanswered = d.attemptHistory.filter((a) => a.statusCode === null);
    for (const a of failedAnswers) {
      expect(a).toMatchObject({ statusCode: 500, succeeded: false, error: 'HTTP 500' });
      expect(a.responseExcerpt).toMatch(/^boom [12]$/);
    }
    for (const a of unanswered) expect(a).toMatchObject({ succeeded: false, error: expect.any(String) });
    // Two failures came before the success, at least one of them answered 500 on record.
    expect(failedAnswers.length).toBeGreaterThanOrEqual(1);
    expect(failedAnswers.length).toBeLessThanOrEqual(2);
    expect(failedAnswers.length + unanswered.length).toBeGreaterThanOrEqual(2);
    expect(d.attemptHistory.map((a) => a.number)).toEqual(d.attemptHistory.map((_a, i) => i + 1));
    expect(d.attempts).toBe(d.attemptHistory.length);
    // Same message, same webhook-id on every attempt; each one signed with the endpoint's secret.
    expect(new Set(s.requests.map((r) => r.headers['webhook-id']))).toEqual(new Set([d.eventId]));
    expect(s.requests.every((r) => verifies(ep.secret, r))).toBe(true);
    const endpoint = (await http(t.url, 'GET', `/webhook-endpoints/${ep.id}`, undefined, admin)).body;
    expect(endpoint).toMatchObject({ status: 'enabled', failingSince: null });
    expect(endpoint.lastSuccessAt).not.toBeNull();
  });

  it('gives up after the schedule: 1 + 3 attempts, delivery failed, endpoint still enabled', async () => {
    const s = await sink(() => Promise.resolve({ status: 503 }));
    const ep = await register(t, `${s.url}/hook`);
    const d = await settled(t, await sendTest(t, ep.id));
    expect(d).toMatchObject({ status: 'failed', attempts: 4, lastStatusCode: 503, lastError: 'HTTP 503' });
    expect(s.requests).toHaveLength(4);
    const endpoint = (await http(t.url, 'GET', `/webhook-endpoints/${ep.id}`, undefined, admin)).body;
    expect(endpoint.status).toBe('enabled');
    expect(endpoint.failingSince).not.toBeNull();
  });

  it('disables an endpoint at once on 410 Gone, and tells the endpoints that subscribed to endpoint.disabled', async () => {
    const watcher = await sink(ok);
    const watcherEp = await register(t, `${watcher.url}/ops`, { eventTypes: ['endpoint.disabled'] });
    const gone = await sink(() => Promise.resolve({ status: 410 }));
    const ep = await register(t, `${gone.url}/hook`);
    const d = await settled(t, await sendTest(t, ep.id));
    expect(d).toMatchObject({ status: 'failed', attempts: 1, lastStatusCode: 410 });
    expect(gone.requests).toHaveLength(1);
    const endpoint = (await http(t.url, 'GET', `/webhook-endpoints/${ep.id}`, undefined, admin)).body;
    expect(endpoint.status).toBe('disabled');
    expect(endpoint.disabledReason).toMatch(/410 Gone/);
    const notice = await waitFor('endpoint.disabled notice', () => Promise.resolve(watcher.requests[0]));
    expect(verifies(watcherEp.secret, notice)).toBe(true);
    expect(JSON.parse(notice.body)).toMatchObject({ type: 'endpoint.disabled', data: { endpoint_id: ep.id } });
    // A disabled endpoint takes no test message, no retry and no recover.
    const refused = await http(t.url, 'POST', `/webhook-endpoints/${ep.id}/test`, undefined, admin);
    expect(refused).toMatchObject({ status: 409, body: { code: 'WEBHOOK_ENDPOINT.DISABLED' } });
  });

  it('honours Retry-After on a 429, within the step and twice the step', async () => {
    const at: number[] = [];
    const timed = await sink((_req, n) => {
      at.push(Date.now());
      return Promise.resolve(n === 1 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 });
    });
    const ep = await register(t, `${timed.url}/hook`);
    const d = await settled(t, await sendTest(t, ep.id));
    expect(d).toMatchObject({ status: 'succeeded', attempts: 2 });
    // Without Retry-After the wait is 100 ms ± 20 %; Retry-After: 1 s asks for more, clamped to 2 × 100 ms.
    expect(at[1] - at[0]).toBeGreaterThanOrEqual(190);
    expect(d.attemptHistory[0].statusCode).toBe(429);
  });

  it('times out a hanging endpoint without delaying deliveries to a healthy one', async () => {
    const hanging = await hangingServer();
    sinks.push(hanging);
    const healthy = await sink(ok);
    const slow = await register(t, hanging.url, { eventTypes: ['load.ping'] });
    await register(t, `${healthy.url}/hook`, { eventTypes: ['load.ping'] });
    await publishPings(t, 'load.ping', 20);
    await waitFor('20 healthy deliveries', () => Promise.resolve(healthy.requests.length >= 20), { timeoutMs: 5000 });
    // All 20 arrived while the hanging attempts were still waiting for their timeout (none recorded yet).
    const [{ n: slowAttempts }] = await t.db.query(
      `SELECT count(*)::int AS n FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id WHERE d.endpoint_id = $1`,
      [slow.id],
    );
    expect(slowAttempts).toBe(0);
    // The hanging endpoint holds at most its share of slots (WEBHOOK_ENDPOINT_CONCURRENCY = 2).
    expect(hanging.received()).toBeLessThanOrEqual(2);
    const [first] = await waitFor('a timed-out attempt', async () => {
      const rows = await t.db.query(
        `SELECT a.error FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id WHERE d.endpoint_id = $1`,
        [slow.id],
      );
      return rows.length > 0 ? rows : undefined;
    });
    expect(first.error).toBe('timeout: no complete answer within 5000 ms');
    await http(t.url, 'DELETE', `/webhook-endpoints/${slow.id}`, undefined, admin);
  });

  it('keeps an endpoint under its rate limit: no more than rateLimitPerS attempts in any second', async () => {
    const s = await sink(ok);
    const ep = await register(t, `${s.url}/hook`, { eventTypes: ['limit.ping'], rateLimitPerS: 5 });
    await publishPings(t, 'limit.ping', 15);
    await waitFor(
      '15 deliveries recorded',
      async () =>
        (
          await t.db.query<{ n: number }[]>(
            `SELECT count(*)::int AS n FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'succeeded'`,
            [ep.id],
          )
        )[0].n === 15,
      { timeoutMs: 10_000 },
    );
    const perSecond = await t.db.query<{ second: string; n: number }[]>(
      `SELECT floor(extract(epoch FROM a.started_at))::bigint AS second, count(*)::int AS n
         FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id
        WHERE d.endpoint_id = $1 GROUP BY 1 ORDER BY 1`,
      [ep.id],
    );
    expect(perSecond.reduce((sum, r) => sum + r.n, 0)).toBe(15);
    // 15 at 5 a second span at least three seconds, none over the limit.
    expect(perSecond.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...perSecond.map((r) => r.n))).toBeLessThanOrEqual(5);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/hookline_webhook_delivery_deferred_total\{reason="rate_limited"\} [1-9]/);
  });

  it('defers a delivery behind a rate limit without Bull keeping a stack trace per deferral in its job', async () => {
    const s = await sink(ok);
    const ep = await register(t, `${s.url}/hook`, { eventTypes: ['limit.stack'], rateLimitPerS: 1 });
    const { queue } = dispatcherInternals(t);
    await publishPings(t, 'limit.stack', 8);
    const ids = (
      await t.db.query<{ id: string }[]>(`SELECT id FROM webhook_deliveries WHERE endpoint_id = $1`, [ep.id])
    ).map((r) => r.id);
    // At 1 a second, the last of the 8 waits for seconds, deferred again each time it comes up.
    const job = await waitFor(
      'a job deferred three times',
      async () => {
        for (const id of ids) {
          const j = await queue.getJob(id);
          if (j && j.attemptsMade >= 3) return j;
        }
        return undefined;
      },
      { timeoutMs: 15_000, intervalMs: 50 },
    );
    expect(job.failedReason).toMatch(/is at its rate limit \(1\/s\)/);
    // Bull appends every failure's stack to the job and rewrites it whole: one per deferral
    // made a job waiting behind a limit grow by a stack each second.
    expect(job.stacktrace).toEqual([]);
  }, 30_000);

  it('signs with both secrets during a rotation: two signatures, each verifies with the standardwebhooks library', async () => {
    const s = await sink(ok);
    const ep = await register(t, `${s.url}/hook`);
    const rotated = await http(t.url, 'POST', `/webhook-endpoints/${ep.id}/rotate-secret`, undefined, admin);
    expect(rotated.status).toBe(200);
    const newSecret = rotated.body.secret as string;
    expect(newSecret).toMatch(/^whsec_/);
    expect(newSecret).not.toBe(ep.secret);
    expect(Date.parse(rotated.body.previousSecretExpiresAt) - Date.now()).toBeGreaterThan(23 * 3600_000);
    await settled(t, await sendTest(t, ep.id));
    const [req] = s.requests;
    expect(String(req.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verifies(ep.secret, req)).toBe(true);
    expect(verifies(newSecret, req)).toBe(true);
    expect(verifies(`whsec_${Buffer.from('some-other-secret-entirely').toString('base64')}`, req)).toBe(false);
  });

  it('recover re-sends exactly the failed deliveries since the given time', async () => {
    let healthy = false;
    const s = await sink((req) => {
      const body = JSON.parse(req.body) as { data: { i: number } };
      return Promise.resolve(healthy || body.data.i === 2 ? { status: 200 } : { status: 500 });
    });
    const ep = await register(t, `${s.url}/hook`, { eventTypes: ['recover.ping'] });
    const outbox = t.app.get(WebhookOutbox);
    const since = new Date(Date.now() - 1000).toISOString();
    const tag = Date.now();
    for (const i of [1, 2, 3]) {
      await t.db.transaction((m) =>
        outbox.publish(m, {
          owner: 'shop',
          eventId: `evt_rec_${tag}_${i}`,
          eventType: 'recover.ping',
          payload: { type: 'recover.ping', data: { i } },
        }),
      );
    }
    const final = async (status: string) =>
      (await http(t.url, 'GET', `/webhook-endpoints/${ep.id}/deliveries?status=${status}`, undefined, admin)).body
        .data as { id: string; eventId: string }[];
    await waitFor(
      '2 failed, 1 succeeded',
      async () => (await final('failed')).length === 2 && (await final('succeeded')).length === 1,
    );
    const failedIds = (await final('failed')).map((d) => d.eventId).sort();
    expect(failedIds).toEqual([`evt_rec_${tag}_1`, `evt_rec_${tag}_3`]);
    healthy = true;
    const before = s.requests.length;
    const res = await http(t.url, 'POST', `/webhook-endpoints/${ep.id}/recover`, { since }, admin);
    expect(res).toMatchObject({ status: 202, body: { recovered: 2 } });
    await waitFor('all succeeded', async () => (await final('succeeded')).length === 3);
    const resent = s.requests
      .slice(before)
      .map((r) => String(r.headers['webhook-id']))
      .sort();
    expect(resent).toEqual(failedIds);
  });

  it('retries one delivery on request, with the attempts before kept in its history', async () => {
    let healthy = false;
    const s = await sink(() => Promise.resolve(healthy ? { status: 200 } : { status: 500 }));
    const ep = await register(t, `${s.url}/hook`);
    const id = await sendTest(t, ep.id);
    expect(await settled(t, id)).toMatchObject({ status: 'failed', attempts: 4 });
    healthy = true;
    const res = await http(t.url, 'POST', `/webhook-deliveries/${id}/retry`, undefined, admin);
    expect(res.status).toBe(202);
    const d = await settled(t, id);
    expect(d.status).toBe('succeeded');
    expect(d.attemptHistory.map((a) => a.succeeded)).toEqual([false, false, false, false, true]);
    expect(s.requests).toHaveLength(5);
  });

  it('sends a delivery retried while its attempt is still running again, once that attempt ends', async () => {
    // The first answer takes a second: the retry arrives while its attempt is running.
    const s = await sink(
      (_req, n) => new Promise((resolve) => setTimeout(() => resolve({ status: 200 }), n === 1 ? 1000 : 0)),
    );
    const ep = await register(t, `${s.url}/hook`);
    const id = await sendTest(t, ep.id);
    await waitFor('the first attempt at the sink', () => Promise.resolve(s.requests.length >= 1));
    const res = await http(t.url, 'POST', `/webhook-deliveries/${id}/retry`, undefined, admin);
    expect(res.status).toBe(202);
    // Without waiting for the running attempt, its success was recorded over the retry and nothing was sent again.
    await waitFor('the retried attempt', () => Promise.resolve(s.requests.length >= 2));
    const d = await settled(t, id);
    expect(d.status).toBe('succeeded');
    expect(d.attemptHistory.map((a) => a.succeeded)).toEqual([true, true]);
  });

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
    const { queue, successes } = dispatcherInternals(t);
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
    const { queue, failures } = dispatcherInternals(t);
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

    const retention = t.app.get(OutboundRetention);
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

describe('outbound webhooks: management API', () => {
  let t: TestApp;
  let s: Awaited<ReturnType<typeof startSink>>;

  beforeAll(async () => {
    t = await createTestApp({ WEBHOOK_RETRY_SCHEDULE: '100ms' });
    s = await startSink(ok);
  });
  afterAll(async () => {
    await t.close();
    await forgetEndpoints();
    await s.close();
  });

  it('creates, reads, lists, changes and deletes an endpoint', async () => {
    const ep = await register(t, `${s.url}/a`, { description: 'ERP', eventTypes: ['order.paid'], rateLimitPerS: 5 });
    expect(ep).toMatchObject({ status: 'enabled', disabledReason: null });
    expect(ep.secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    const got = await http(t.url, 'GET', `/webhook-endpoints/${ep.id}`, undefined, admin);
    expect(got.body).toMatchObject({ id: ep.id, description: 'ERP', eventTypes: ['order.paid'], rateLimitPerS: 5 });
    expect(got.body).not.toHaveProperty('secret');
    const list = await http(t.url, 'GET', '/webhook-endpoints?limit=100', undefined, admin);
    expect(list.body.data.map((e: { id: string }) => e.id)).toContain(ep.id);
    const patched = await http(t.url, 'PATCH', `/webhook-endpoints/${ep.id}`, { status: 'disabled' }, admin);
    expect(patched.body).toMatchObject({ status: 'disabled', disabledReason: 'disabled through the API' });
    const again = await http(
      t.url,
      'PATCH',
      `/webhook-endpoints/${ep.id}`,
      { status: 'enabled', eventTypes: null },
      admin,
    );
    expect(again.body).toMatchObject({ status: 'enabled', disabledReason: null, eventTypes: null });
    expect((await http(t.url, 'DELETE', `/webhook-endpoints/${ep.id}`, undefined, admin)).status).toBe(204);
    const gone = await http(t.url, 'GET', `/webhook-endpoints/${ep.id}`, undefined, admin);
    expect(gone).toMatchObject({ status: 404, body: { code: 'WEBHOOK_ENDPOINT.NOT_FOUND' } });
  });

  /**
   * An endpoint with one delivery, a second connection holding a transaction on them as
   * the dispatcher does (`hold`), and DELETE sent meanwhile; `then` runs once the DELETE
   * waits for a lock, then the transaction commits. Answers the DELETE's status.
   */
  async function deleteWhileHeld(
    hold: (c: Client, ids: { endpointId: string; deliveryId: string }) => Promise<unknown>,
    then: (c: Client, ids: { endpointId: string; deliveryId: string }) => Promise<unknown>,
  ): Promise<number> {
    const ep = await register(t, `${s.url}/held`);
    const ids = { endpointId: ep.id, deliveryId: await sendTest(t, ep.id) };
    await settled(t, ids.deliveryId);
    const other = new Client({ connectionString: TEST_DATABASE_URL });
    await other.connect();
    try {
      await other.query('BEGIN');
      await hold(other, ids);
      const deleting = http(t.url, 'DELETE', `/webhook-endpoints/${ep.id}`, undefined, admin);
      await waitFor('the DELETE waiting for a lock', async () => {
        const rows = await t.db.query(
          `SELECT 1 FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE 'DELETE FROM%webhook_%'`,
        );
        return rows.length > 0 || undefined;
      });
      await then(other, ids);
      await other.query('COMMIT');
      const { status } = await deleting;
      const [{ n }] = await t.db.query(`SELECT count(*)::int AS n FROM webhook_deliveries WHERE endpoint_id = $1`, [
        ep.id,
      ]);
      expect(n).toBe(0);
      return status;
    } finally {
      await other.end();
    }
  }

  it('deletes an endpoint while an attempt of one of its deliveries is being recorded, without a deadlock', async () => {
    // The dispatcher records a failed attempt (which holds its delivery), then the endpoint's health.
    const status = await deleteWhileHeld(
      (c, { deliveryId }) =>
        c.query(
          `INSERT INTO webhook_attempts (delivery_id, number, started_at, duration_ms, status_code, response_excerpt, error, succeeded)
           VALUES ($1, 2, now(), 5, 500, '', 'HTTP 500', false)`,
          [deliveryId],
        ),
      (c, { endpointId }) =>
        c.query(`UPDATE webhook_endpoints SET failing_since = coalesce(failing_since, now()) WHERE id = $1`, [
          endpointId,
        ]),
    );
    expect(status).toBe(204);
  });

  it('deletes an endpoint that is being disabled at the same moment: the deadlock’s loser tries again', async () => {
    // Disabling takes the endpoint, then fails its deliveries: the other order.
    const status = await deleteWhileHeld(
      (c, { endpointId }) => c.query(`UPDATE webhook_endpoints SET status = 'disabled' WHERE id = $1`, [endpointId]),
      (c, { deliveryId }) =>
        c.query(`UPDATE webhook_deliveries SET last_error = 'disabled' WHERE id = $1`, [deliveryId]),
    );
    expect(status).toBe(204);
  });

  it('pages through endpoints with a cursor, each once', async () => {
    const created = [];
    for (let i = 0; i < 5; i++) created.push((await register(t, `${s.url}/page/${i}`)).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { data: { id: string }[]; nextCursor: string | null } } = await http(
        t.url,
        'GET',
        `/webhook-endpoints?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        undefined,
        admin,
      );
      expect(page.status).toBe(200);
      seen.push(...page.body.data.map((e) => e.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(expect.arrayContaining(created));
  });

  it('answers bad input with problem+json and changes nothing', async () => {
    const [{ n: before }] = await t.db.query(`SELECT count(*)::int AS n FROM webhook_endpoints`);
    const cases: [string, string, unknown, number, string][] = [
      ['POST', '/webhook-endpoints', { url: 'ftp://example.com/x' }, 400, 'VALIDATION.FAILED'],
      ['POST', '/webhook-endpoints', { url: 'not a url' }, 400, 'VALIDATION.FAILED'],
      ['POST', '/webhook-endpoints', { url: `${s.url}/x`, eventTypes: ['Order Paid'] }, 400, 'VALIDATION.FAILED'],
      ['POST', '/webhook-endpoints', { url: `${s.url}/x`, rateLimitPerS: 0 }, 400, 'VALIDATION.FAILED'],
      ['POST', '/webhook-endpoints', { url: `${s.url}/x`, extra: 1 }, 400, 'VALIDATION.FAILED'],
      ['GET', '/webhook-endpoints/nope', undefined, 404, 'WEBHOOK_ENDPOINT.NOT_FOUND'],
      ['GET', '/webhook-endpoints?cursor=abc', undefined, 400, 'WEBHOOK_ENDPOINT.INVALID_CURSOR'],
      ['GET', '/webhook-deliveries/00000000-0000-0000-0000-000000000000', undefined, 404, 'WEBHOOK_DELIVERY.NOT_FOUND'],
      [
        'POST',
        '/webhook-endpoints/00000000-0000-0000-0000-000000000000/recover',
        { since: 'yesterday' },
        400,
        'VALIDATION.FAILED',
      ],
    ];
    for (const [method, path, body, status, code] of cases) {
      const res = await http(t.url, method, path, body, admin);
      expect({ path, status: res.status, code: res.body?.code }).toEqual({ path, status, code });
      expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    }
    const [{ n: after }] = await t.db.query(`SELECT count(*)::int AS n FROM webhook_endpoints`);
    expect(after).toBe(before);
    // The shop's key does not open the admin API.
    const shop = await http(t.url, 'GET', '/webhook-endpoints', undefined, {
      authorization: 'Bearer sk_shop_test_0123456789abcdef',
    });
    expect(shop).toMatchObject({ status: 401, body: { code: 'AUTH.INVALID_KEY' } });
  });

  it("lets the PSP mock register its own endpoints: they get every payment event, signed with the endpoint's secret, and resend works", async () => {
    const pspSink = await startSink(ok);
    try {
      const ep = await register(t, `${pspSink.url}/psp-events`, {}, psp, '/psp/v1');
      // The PSP's endpoints are not the shop's.
      const shopView = await http(t.url, 'GET', `/webhook-endpoints/${ep.id}`, undefined, admin);
      expect(shopView.status).toBe(404);
      const order = await createOrder(t.url);
      const payment = await payOrder(t.url, order.id);
      const req = await waitFor('payment event at the PSP endpoint', () =>
        Promise.resolve(pspSink.requests.find((r) => JSON.parse(r.body).data?.payment_id === payment.pspPaymentId)),
      );
      expect(verifies(ep.secret, req)).toBe(true);
      const eventId = String(req.headers['webhook-id']);
      const resend = await http(t.url, 'POST', `/psp/v1/events/${eventId}/resend`, undefined, psp);
      // Two deliveries of the event: the payment's callback_url (the shop) and this endpoint.
      expect(resend).toMatchObject({ status: 202, body: { resent: 2 } });
      await waitFor('resent', () =>
        Promise.resolve(pspSink.requests.filter((r) => r.headers['webhook-id'] === eventId).length === 2),
      );
      const missing = await http(t.url, 'POST', '/psp/v1/events/evt_000000000000000000000000/resend', undefined, psp);
      expect(missing).toMatchObject({ status: 404, body: { code: 'PSP.EVENT_NOT_FOUND' } });
    } finally {
      await pspSink.close();
    }
  });
});

describe('outbound webhooks: SSRF and auto-disable', () => {
  let t: TestApp;
  let s: Awaited<ReturnType<typeof startSink>>;

  beforeAll(async () => {
    t = await createTestApp({
      WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32',
      WEBHOOK_RETRY_SCHEDULE: '300ms,300ms,300ms,300ms,300ms,300ms',
      WEBHOOK_DISABLE_AFTER: '1s',
    });
    s = await startSink(() => Promise.resolve({ status: 500 }));
  });
  afterAll(async () => {
    await t.close();
    await forgetEndpoints();
    await s.close();
  });

  it.each([
    ['http://127.0.0.2:8080/hook', /127\.0\.0\.2 is a loopback address/],
    ['http://169.254.169.254/latest/meta-data', /169\.254\.169\.254 is a link-local/],
    ['http://10.1.2.3/hook', /10\.1\.2\.3 is a private address/],
    ['http://[::1]:8080/hook', /::1 is a loopback address/],
    ['http://[::ffff:192.168.0.1]/hook', /192\.168\.0\.1/],
    ['http://user:pass@example.com/hook', /credentials/],
  ])('refuses %s at registration with 422', async (url, reason) => {
    const res = await http(t.url, 'POST', '/webhook-endpoints', { url }, admin);
    expect(res).toMatchObject({ status: 422, body: { code: 'WEBHOOK_ENDPOINT.URL_REFUSED' } });
    expect(res.body.detail).toMatch(reason);
  });

  it('refuses at connect time what registration could not tell, as a failed attempt with a clear error', async () => {
    const target = await startSink(ok);
    try {
      // As if the name had resolved elsewhere when it was registered: the row points at a refused address.
      const id = randomUUID();
      const sealed = t.app
        .get(SigningSecrets)
        .seal(id, { secret: `whsec_${Buffer.from('x'.repeat(24)).toString('base64')}`, previousSecret: null });
      await t.db.query(
        `INSERT INTO webhook_endpoints (id, owner, url, secret_sealed, sealing_key_id) VALUES ($1, 'shop', $2, $3, $4)`,
        [id, target.url.replace('127.0.0.1', '127.0.0.3') + '/hook', sealed.sealedSecret, sealed.sealingKeyId],
      );
      const d = await settled(t, await sendTest(t, id));
      expect(d.attemptHistory[0].error).toMatch(
        /^refused to connect to 127\.0\.0\.3: 127\.0\.0\.3 is a loopback address \(not in WEBHOOK_ALLOWED_CIDRS\)/,
      );
      expect(d.attemptHistory[0].statusCode).toBeNull();
      expect(target.requests).toHaveLength(0);
    } finally {
      await target.close();
    }
  });

  it('disables an endpoint that fails for longer than WEBHOOK_DISABLE_AFTER, with the reason', async () => {
    const ep = await register(t, `${s.url}/hook`);
    const d = await settled(t, await sendTest(t, ep.id));
    expect(d.status).toBe('failed');
    // Attempts 300 ms apart: the one at or after 1 s of failing disables it, before the schedule runs out.
    expect(d.attempts).toBeLessThan(7);
    const endpoint = (await http(t.url, 'GET', `/webhook-endpoints/${ep.id}`, undefined, admin)).body;
    expect(endpoint.status).toBe('disabled');
    expect(endpoint.disabledReason).toMatch(/^no successful delivery since .* \(failing longer than 1s\)$/);
    // Re-enabled, it gets new messages (and only those).
    await http(t.url, 'PATCH', `/webhook-endpoints/${ep.id}`, { status: 'enabled' }, admin);
    const before = s.requests.length;
    await sendTest(t, ep.id);
    await waitFor('a new attempt', () => Promise.resolve(s.requests.length > before));
    const ids = new Set(s.requests.slice(before).map((r) => r.headers['webhook-id']));
    expect(ids.has(d.eventId)).toBe(false);
  });
});
