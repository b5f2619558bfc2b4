import { randomUUID } from 'node:crypto';
import type { Client } from 'pg';
import { request } from 'undici';
import { freePort } from '../../scripts/lib/free-port.js';
import { orderBody, shopHeaders } from '../factories/orders.factory.js';
import { startGateway, type Gateway } from '../utils/caddy-gateway.js';
import { mapLimit, paymentOutcomes, testDb } from '../utils/fault-kit.js';
import { spawnApp, testRedisPrefix, type SpawnedApp } from '../utils/spawn-app.js';
import { TestPki } from '../utils/test-pki.js';
import { waitFor } from '../utils/wait-for.js';

const N = 40;

/**
 * The compose topology as processes: Caddy (the repository's Caddyfile, Debian's package)
 * terminates TLS in front of two api processes; a worker applies; the PSP mock calls the
 * shop back through the gateway over https, verifying it against the test CA
 * (PSP_MOCK_CA_FILE). One api process is stopped in the middle of a burst of payments.
 */
describe('the Caddy gateway in front of two api processes', () => {
  const pki = new TestPki();
  const procs: SpawnedApp[] = [];
  let gateway: Gateway | undefined;
  let db: Client | undefined;
  afterAll(async () => {
    await gateway?.stop();
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
    await db?.end();
    pki.remove();
  });

  /** A JSON call through the gateway; 502/503 and resets are retried with the same Idempotency-Key, as a client would. */
  async function call(path: string, body: unknown, key = randomUUID()): Promise<{ status: number; json: any }> {
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await request(`${gateway!.url}${path}`, {
          method: 'POST',
          dispatcher: gateway!.agent,
          headers: { ...shopHeaders, 'idempotency-key': key },
          body: JSON.stringify(body),
        });
        const text = await res.body.text();
        if ((res.statusCode !== 502 && res.statusCode !== 503 && res.statusCode !== 409) || attempt >= 20) {
          return { status: res.statusCode, json: JSON.parse(text) };
        }
      } catch (err) {
        if (attempt >= 20) throw err;
      }
      await new Promise((r) => setTimeout(r, 50 * attempt));
    }
  }

  it('settles every payment once while a replica stops, and routes around it', async () => {
    const REDIS_PREFIX = testRedisPrefix();
    const psp = await spawnApp('psp', {
      REDIS_PREFIX,
      PSP_SETTLE_DELAY_MIN_MS: '300',
      PSP_SETTLE_DELAY_MAX_MS: '1500',
      PSP_DELIVERY_BACKOFF_MS: '300',
      PSP_MOCK_CA_FILE: pki.ca.cert,
    });
    procs.push(psp);
    db = await testDb();
    await db.query(`DELETE FROM psp_settings`);
    const gatewayCert = pki.leaf('gateway');
    const [gatewayPort, port1, port2] = [await freePort(), await freePort(), await freePort()];
    const shop = {
      REDIS_PREFIX,
      PSP_BASE_URL: psp.url,
      // The PSP calls the shop back through the gateway, over https.
      PUBLIC_BASE_URL: `https://127.0.0.1:${gatewayPort}`,
      TRUST_PROXY: '127.0.0.1',
      // No fallback poll within the test: webhooks alone must resolve every payment.
      WEBHOOK_DEADLINE_MS: '3600000',
    };
    const api1 = await spawnApp('api', shop, { port: port1 });
    const api2 = await spawnApp('api', shop, { port: port2 });
    const worker = await spawnApp('worker', shop);
    procs.push(api1, api2, worker);
    gateway = await startGateway(gatewayCert, pki.ca.cert, [`127.0.0.1:${port1}`, `127.0.0.1:${port2}`], gatewayPort);

    // Forwarded headers: the api sees https from the gateway it trusts, and says HSTS.
    const viaGateway = await request(`${gateway.url}/health/live`, { dispatcher: gateway.agent });
    await viaGateway.body.text();
    expect(viaGateway.headers['strict-transport-security']).toBeDefined();

    let stopped: Promise<unknown> | undefined;
    const payments = await mapLimit(Array.from({ length: N }), 8, async (_x, i) => {
      if (i === N / 4) stopped = api1.stop('SIGTERM');
      const order = await call('/orders', orderBody());
      expect(order.status).toBe(201);
      const payment = await call(`/orders/${order.json.id}/payments`, {});
      expect(payment.status).toBe(201);
      return {
        orderId: order.json.id as string,
        paymentId: payment.json.id as string,
        psp: payment.json.pspPaymentId as string,
      };
    });
    expect(await stopped).toEqual({ code: 0, signal: null });

    // The gateway's active health check finds the stopped replica down…
    await waitFor('the gateway marking the stopped replica unhealthy', () =>
      Promise.resolve(/health_checker/.test(gateway!.output()) && gateway!.output().includes(`127.0.0.1:${port1}`)),
    );
    // …and sends it nothing more: every request is answered (by api2).
    for (let i = 0; i < 10; i++) {
      const res = await request(`${gateway.url}/health/ready`, { dispatcher: gateway.agent });
      await res.body.text();
      expect(res.statusCode).toBe(200);
    }

    const ids = payments.map((p) => p.paymentId);
    const final = await waitFor(
      `${N} payments final`,
      async () => {
        const rows = await paymentOutcomes(db!, ids);
        return rows.length === N && rows.every((r) => r.status !== 'processing') ? rows : undefined;
      },
      { timeoutMs: 45_000, intervalMs: 250 },
    );
    // Every payment paid by webhook, applied once (one resolved entry, one payment per order).
    expect(new Set(final.map((r) => `${r.status}/${r.resolved_via}/${r.order_status}/${r.resolved_entries}`))).toEqual(
      new Set(['succeeded/webhook/paid/1']),
    );
    const perOrder = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM payments WHERE order_id = ANY($1::uuid[]) GROUP BY order_id`,
      [payments.map((p) => p.orderId)],
    );
    expect(perOrder.rows.map((r) => r.n)).toEqual(new Array(N).fill(1));
    // No webhook the gateway acknowledged (the PSP marked delivered) is missing from the inbox.
    const lost = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM psp_events e
        WHERE e.payment_id = ANY($1::text[]) AND e.delivery_status = 'delivered'
          AND NOT EXISTS (SELECT 1 FROM webhook_inbox i WHERE i.event_id = e.id)`,
      [payments.map((p) => p.psp)],
    );
    expect(lost.rows[0].n).toBe(0);
    const delivered = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM psp_events WHERE payment_id = ANY($1::text[]) AND delivery_status = 'delivered'`,
      [payments.map((p) => p.psp)],
    );
    expect(delivered.rows[0].n).toBeGreaterThanOrEqual(N);
  }, 150_000);
});
