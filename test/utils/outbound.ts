import { createServer, type Server } from 'node:http';
import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import type { Client } from 'pg';
import { QueueName } from '../../src/queue/queues.js';
import { DeliveryRecorder } from '../../src/webhooks/outbound/delivery/delivery-recorder.js';
import { WebhookOutbox } from '../../src/webhooks/outbound/webhook-outbox.js';
import { admin, forgetEndpoints } from '../factories/endpoints.factory.js';
import { http } from '../factories/orders.factory.js';
import { createTestApp, type TestApp } from './create-test-app.js';
import { allowEngineTestTypes } from './event-schemas.js';
import { startSink, type SinkHandler } from './http-sink.js';
import { waitFor } from './wait-for.js';

/** What the outbound e2e files share: deliveries, the batched writes they watch, the sinks they answer from. */

/**
 * The app the delivery, retry, rate-limit, secrets, recover, recording and retention files
 * run: a short retry schedule, two attempts at a time per endpoint, a fast sweeper.
 */
export const DELIVERY_ENV = {
  WEBHOOK_RETRY_SCHEDULE: '100ms,200ms,300ms',
  WEBHOOK_ATTEMPT_TIMEOUT_MS: '5000',
  WEBHOOK_DELIVERY_CONCURRENCY: '8',
  WEBHOOK_ENDPOINT_CONCURRENCY: '2',
  WEBHOOK_SWEEP_INTERVAL_MS: '200',
  WEBHOOK_SWEEP_STALE_MS: '200',
} as const;

export const ok: SinkHandler = () => Promise.resolve({ status: 200 });

/** Sinks started by a file's tests, closed together in its afterAll. */
export function sinkPool() {
  const sinks: { close(): Promise<void> }[] = [];
  return {
    sinks,
    sink: async (handler: SinkHandler) => {
      const s = await startSink(handler);
      sinks.push(s);
      return s;
    },
    closeAll: () => Promise.all(sinks.map((s) => s.close())),
  };
}

/**
 * A file's app and sinks: the app started with `env` in beforeAll (handed to `use`), and in
 * afterAll the app closed, the endpoints forgotten and the sinks closed.
 */
export function useOutboundApp(env: Record<string, string>, use: (t: TestApp) => void) {
  const pool = sinkPool();
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(env);
    use(t);
  });
  afterAll(async () => {
    await t.close();
    await forgetEndpoints();
    await pool.closeAll();
  });
  return pool;
}

/** Sends a webhook.test message to the endpoint; answers the delivery id. */
export async function sendTest(t: TestApp, endpointId: string): Promise<string> {
  const res = await http(t.url, 'POST', `/webhook-endpoints/${endpointId}/test`, undefined, admin);
  expect(res.status).toBe(202);
  return res.body.deliveryId as string;
}

export async function delivery(t: TestApp, id: string) {
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

export const settled = (t: TestApp, id: string) =>
  waitFor(`delivery ${id} final`, async () => {
    const d = await delivery(t, id);
    return d.status !== 'pending' ? d : undefined;
  });

/** A server that reads requests and never answers them (until closed). */
export async function hangingServer(): Promise<{
  url: string;
  received: () => number;
  close: () => Promise<void>;
}> {
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
export async function waitingOnLock(t: TestApp, fragment: string): Promise<number> {
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
export async function fillWriteSlots(t: TestApp, lock: Client, endpointId: string, fragment: string): Promise<void> {
  await lock.query('BEGIN');
  await lock.query('SELECT 1 FROM webhook_endpoints WHERE id = $1 FOR NO KEY UPDATE', [endpointId]);
  for (const n of [1, 2]) {
    await sendTest(t, endpointId);
    await waitFor(`write ${n} waiting on the lock`, async () => (await waitingOnLock(t, fragment)) === n || undefined);
  }
}

/** The recorder's batched writes and the delivery queue, as the batch tests watch them. */
export function recorderBatches(t: TestApp) {
  const { successes, failures } = t.app.get(DeliveryRecorder);
  return { queue: t.app.get<Queue>(getQueueToken(QueueName.WebhookDelivery)), successes, failures };
}

/** Publishes `n` messages of `eventType` in one transaction (`{ type, i }` each, event ids unique to this call). */
export async function publishPings(t: TestApp, eventType: string, n: number): Promise<void> {
  allowEngineTestTypes([eventType]);
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
export async function refuseExcerpt(t: TestApp, name: string, excerpt: string): Promise<() => Promise<void>> {
  await t.db.query(
    `ALTER TABLE webhook_attempts ADD CONSTRAINT ${name} CHECK (response_excerpt IS DISTINCT FROM '${excerpt}') NOT VALID`,
  );
  return async () => {
    await t.db.query(`ALTER TABLE webhook_attempts DROP CONSTRAINT IF EXISTS ${name}`);
  };
}
