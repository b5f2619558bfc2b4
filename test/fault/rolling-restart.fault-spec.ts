import { Agent } from 'node:http';
import type { Client } from 'pg';
import { shopHeaders } from '../factories/orders.factory.js';
import { sleep } from '../../scripts/lib/sleep.js';
import { createPayments, paymentOutcomes, testDb } from '../utils/fault-kit.js';
import { rawRequest, type RawOutcome } from '../utils/raw-http.js';
import { spawnApp, testRedisPrefix, type SpawnedApp } from '../utils/spawn-app.js';
import { waitFor } from '../utils/wait-for.js';

const N = 40;
const LANES = 3;

/**
 * One of two api processes is restarted (SIGTERM, then started again on its port)
 * while clients keep calling it and the PSP delivers webhooks to both. No request the
 * old process accepted is cut: each one gets its answer, or is refused before it is
 * sent (ECONNREFUSED, which a load balancer or client retries elsewhere). Every webhook
 * is applied once.
 *
 * Each client keeps one keep-alive connection, like a proxy's pool: open before the
 * SIGTERM, answered with `Connection: close` while draining, so the client's next
 * request opens a new connection — refused by the closed listener. (Clients that open
 * a new connection for every request can, rarely, see a reset: a connection still in
 * the kernel's accept queue when the listening socket closes is reset by the kernel.
 * A load balancer that stops routing to a draining replica avoids that window.)
 */
describe('rolling restart of an api process under load', () => {
  const procs: SpawnedApp[] = [];
  let db: Client | undefined;
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
    await db?.end();
  });

  it('answers or refuses every request, never resets one, and applies every webhook once', async () => {
    const REDIS_PREFIX = testRedisPrefix();
    const psp = await spawnApp('psp', {
      REDIS_PREFIX,
      PSP_SETTLE_DELAY_MIN_MS: '1000',
      PSP_SETTLE_DELAY_MAX_MS: '5000',
      PSP_DELIVERY_BACKOFF_MS: '300',
    });
    procs.push(psp);
    db = await testDb();
    await db.query(`DELETE FROM psp_settings`);
    // No fallback poll within the test: webhooks alone must resolve every payment.
    const shop = { REDIS_PREFIX, PSP_BASE_URL: psp.url, WEBHOOK_DEADLINE_MS: '3600000' };
    let api1 = await spawnApp('api', shop);
    const api2 = await spawnApp('api', shop);
    const worker = await spawnApp('worker', { ...shop, PUBLIC_BASE_URL: api2.url });
    procs.push(api1, api2, worker);

    const payments = [
      ...(await createPayments(api1.url, N / 2)), // delivered to api1
      ...(await createPayments(api2.url, N / 2)),
    ];
    const ids = payments.map((p) => p.paymentId);

    // Clients calling api1 continuously, each over its own keep-alive connection.
    const outcomes: RawOutcome[] = [];
    let load = true;
    const agents = Array.from({ length: LANES }, () => new Agent({ keepAlive: true, maxSockets: 1 }));
    const lanes = agents.map(async (agent, lane) => {
      while (load) {
        const p = payments[(outcomes.length + lane) % payments.length];
        outcomes.push(await rawRequest(`${api1.url}/orders/${p.orderId}`, { headers: shopHeaders, agent }));
        await sleep(5);
      }
    });
    const answeredSince = (from: number) =>
      outcomes.slice(from).filter((o) => o.ok && o.status < 500).length >= 5 * LANES;
    await waitFor('the lanes answered by api1', () => Promise.resolve(answeredSince(0)));
    const exit = await api1.stop('SIGTERM');
    expect(exit).toEqual({ code: 0, signal: null });
    api1 = await spawnApp('api', shop, { port: api1.port });
    procs.push(api1);
    const restartedAt = outcomes.length;
    await waitFor('the lanes answered by the restarted api1', () => Promise.resolve(answeredSince(restartedAt)));
    load = false;
    await Promise.all(lanes);
    for (const agent of agents) agent.destroy();

    const kinds = outcomes.map((o) => (o.ok ? (o.status < 500 ? 'answered' : `HTTP ${o.status}`) : o.code));
    const counts = kinds.reduce<Record<string, number>>((acc, k) => ({ ...acc, [k]: (acc[k] ?? 0) + 1 }), {});
    // Answered before and after the restart, refused in between: nothing else (no reset, no 5xx).
    expect(Object.keys(counts).sort()).toEqual(['ECONNREFUSED', 'answered']);

    const final = await waitFor(
      `${N} payments resolved and every PSP event delivered`,
      async () => {
        const delivered = await db!.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM psp_events WHERE payment_id = ANY($1::text[]) AND delivery_status = 'delivered'`,
          [payments.map((p) => p.pspPaymentId)],
        );
        const rows = await paymentOutcomes(db!, ids);
        return delivered.rows[0].n === N && rows.every((r) => r.status !== 'processing') ? rows : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(new Set(final.map((r) => `${r.status}/${r.resolved_via}/${r.order_status}/${r.resolved_entries}`))).toEqual(
      new Set(['succeeded/webhook/paid/1']),
    );
  }, 120_000);
});
