import { Client } from 'pg';
import { admin, psp, register } from '../../factories/endpoints.factory.js';
import { createOrder, http, payOrder } from '../../factories/orders.factory.js';
import type { TestApp } from '../../utils/create-test-app.js';
import { startSink, verifies, type Sink } from '../../utils/http-sink.js';
import { ok, sendTest, settled, useOutboundApp } from '../../utils/outbound.js';
import { TEST_DATABASE_URL } from '../../utils/test-env.js';
import { waitFor } from '../../utils/wait-for.js';

jest.setTimeout(30_000);

describe('outbound webhooks: management API', () => {
  let t: TestApp;
  let s: Sink;
  const sinks = useOutboundApp({ WEBHOOK_RETRY_SCHEDULE: '100ms' }, (app) => (t = app));
  beforeAll(async () => {
    s = await sinks.sink(ok);
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
