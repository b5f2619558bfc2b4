import { Client } from 'pg';
import { admin, forgetEndpoints, register } from '../../factories/endpoints.factory.js';
import { createOrder, http, payOrder, shopHeaders } from '../../factories/orders.factory.js';
import { createTestApp, type TestApp } from '../../utils/create-test-app.js';
import { startSink, type SinkRequest } from '../../utils/http-sink.js';
import { TEST_DATABASE_URL } from '../../utils/test-env.js';
import { waitFor } from '../../utils/wait-for.js';

jest.setTimeout(40_000);

interface Event {
  event_id: string;
  type: string;
  created_at: string;
  data: Record<string, unknown>;
}

describe('outbound webhooks: the events API', () => {
  let t: TestApp;
  const sinks: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    t = await createTestApp({ WEBHOOK_RETRY_SCHEDULE: '100ms' });
  });
  afterAll(async () => {
    await t.close();
    await forgetEndpoints();
    await Promise.all(sinks.map((s) => s.close()));
  });

  async function sink(handler: Parameters<typeof startSink>[0]) {
    const s = await startSink(handler);
    sinks.push(s);
    return s;
  }

  /** Every page of GET /events after `cursor`; answers the events and the cursor to keep. */
  async function readAll(headers: Record<string, string>, query: string, cursor: string | null) {
    const events: Event[] = [];
    for (;;) {
      const after = cursor ? `&after=${cursor}` : '';
      const res = await http(t.url, 'GET', `/events?limit=4${query}${after}`, undefined, headers);
      expect(res.status).toBe(200);
      events.push(...(res.body.data as Event[]));
      cursor = res.body.nextCursor as string | null;
      if (!res.body.hasMore) return { events, cursor };
    }
  }

  const orderEventIds = async (): Promise<string[]> =>
    (
      await t.db.query<{ event_id: string }[]>(
        `SELECT event_id FROM webhook_messages WHERE owner = 'shop' AND event_type LIKE 'order.%' ORDER BY event_id`,
      )
    ).map((r) => r.event_id);

  it('a merchant dropping a third of its webhooks catches up from GET /events and ends with every event once', async () => {
    const processed = new Map<string, number>();
    let received = 0;
    let dropped = 0;
    // Deduplicated by event_id (= webhook-id): a webhook and the same event read back apply once.
    const apply = (e: Event) => {
      if (!processed.has(e.event_id)) processed.set(e.event_id, 1);
    };
    const merchant = await sink((req: SinkRequest) => {
      received++;
      // Acknowledged, then lost (a crash before the merchant's own commit): every third one.
      if (received % 3 === 0) dropped++;
      else apply(JSON.parse(req.body) as Event);
      return Promise.resolve({ status: 200 });
    });
    await register(t, `${merchant.url}/hooks`, { eventTypes: ['order.*'] });
    for (let i = 0; i < 9; i++) {
      const order = await createOrder(t.url);
      await payOrder(t.url, order.id, { paymentMethod: i % 3 === 2 ? 'pm_card_declined' : 'pm_card_ok' });
    }
    await waitFor('9 order webhooks at the merchant', () => Promise.resolve(received >= 9), { timeoutMs: 20_000 });
    expect(dropped).toBe(3);
    expect(processed.size).toBe(6);

    const { events, cursor } = await readAll(shopHeaders, '&types=order.*', null);
    for (const e of events) apply(e);
    expect([...processed.keys()].sort()).toEqual(await orderEventIds());
    expect([...processed.values()].every((n) => n === 1)).toBe(true);
    // Oldest first by the message's own time (its transaction's start, then id), which is not
    // the payload's created_at: two orders paid at once may stamp their payloads the other way.
    const listed = await t.db.query<{ event_id: string }[]>(
      `SELECT event_id FROM webhook_messages WHERE owner = 'shop' AND event_type LIKE 'order.%' ORDER BY created_at, id`,
    );
    expect(events.map((e) => e.event_id)).toEqual(listed.map((r) => r.event_id));

    // Later, from the cursor it kept: only what is new.
    const later = await createOrder(t.url);
    await payOrder(t.url, later.id, { paymentMethod: 'pm_card_ok' });
    const next = await waitFor('the new event after the cursor', async () => {
      const page = await readAll(shopHeaders, '&types=order.*', cursor);
      return page.events.length > 0 ? page : undefined;
    });
    expect(next.events).toHaveLength(1);
    expect(next.events[0]).toMatchObject({ type: 'order.paid', data: { order_id: later.id } });
    const empty = await http(t.url, 'GET', `/events?after=${next.cursor}`, undefined, shopHeaders);
    expect(empty.body).toEqual({ data: [], nextCursor: next.cursor, hasMore: false });
  });

  it('lists an event only once every transaction begun before it has ended', async () => {
    const { cursor } = await readAll(admin, '', null);
    const open = new Client({ connectionString: TEST_DATABASE_URL });
    await open.connect();
    try {
      await open.query('BEGIN');
      await open.query('SELECT 1');
      const order = await createOrder(t.url);
      await payOrder(t.url, order.id, { paymentMethod: 'pm_card_ok' });
      await waitFor('order paid', async () => (await http(t.url, 'GET', `/orders/${order.id}`)).body.status === 'paid');
      expect((await readAll(admin, '', cursor)).events).toEqual([]);
      await open.query('COMMIT');
      const after = await readAll(admin, '', cursor);
      expect(after.events.map((e) => e.data.order_id)).toEqual([order.id]);
    } finally {
      await open.end();
    }
  });

  it('shows a shop key the order events only, an admin key the operational ones too, filtered by type and time', async () => {
    const victim = await register(t, 'http://127.0.0.1:9/never', { eventTypes: ['order.paid'] });
    await http(t.url, 'PATCH', `/webhook-endpoints/${victim.id}`, { status: 'disabled' }, admin);
    const adminTypes = (await readAll(admin, '', null)).events.map((e) => e.type);
    expect(adminTypes).toContain('endpoint.disabled');
    const shopTypes = (await readAll(shopHeaders, '', null)).events.map((e) => e.type);
    expect(shopTypes.length).toBeGreaterThan(0);
    expect(shopTypes.filter((type) => !type.startsWith('order.'))).toEqual([]);
    const refused = await http(t.url, 'GET', '/events?types=endpoint.disabled', undefined, shopHeaders);
    expect(refused).toMatchObject({
      status: 400,
      body: { code: 'EVENT.UNKNOWN_TYPE', unknownTypes: ['endpoint.disabled'] },
    });
    expect(refused.body.knownTypes).toEqual(['order.paid', 'order.payment_failed']);
    const failed = (await readAll(shopHeaders, '&types=order.payment_failed', null)).events;
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.every((e) => e.type === 'order.payment_failed')).toBe(true);
    const future = new Date(Date.now() + 60_000).toISOString();
    expect((await readAll(admin, `&since=${future}`, null)).events).toEqual([]);
    expect((await readAll(admin, `&until=${future}`, null)).events.length).toBe(adminTypes.length);
  });

  it('answers bad input with problem+json', async () => {
    const cases: [string, Record<string, string>, number, string][] = [
      ['/events?after=bm9wZQ', shopHeaders, 400, 'EVENT.INVALID_CURSOR'],
      ['/events?types=order.payed', shopHeaders, 400, 'EVENT.UNKNOWN_TYPE'],
      ['/events?limit=0', shopHeaders, 400, 'VALIDATION.FAILED'],
      ['/events?since=yesterday', shopHeaders, 400, 'VALIDATION.FAILED'],
      [`/events?after=${'a'.repeat(201)}`, shopHeaders, 400, 'VALIDATION.FAILED'],
      [
        '/webhook-endpoints/00000000-0000-4000-8000-000000000000/undelivered-events?limit=101',
        admin,
        400,
        'VALIDATION.FAILED',
      ],
      ['/events', {}, 401, 'AUTH.MISSING_KEY'],
      [
        '/webhook-endpoints/00000000-0000-4000-8000-000000000000/undelivered-events',
        admin,
        404,
        'WEBHOOK_ENDPOINT.NOT_FOUND',
      ],
      [
        '/webhook-endpoints/00000000-0000-4000-8000-000000000000/undelivered-events',
        shopHeaders,
        401,
        'AUTH.INVALID_KEY',
      ],
    ];
    for (const [path, headers, status, code] of cases) {
      const res = await http(t.url, 'GET', path, undefined, headers);
      expect({ path, status: res.status, code: res.body?.code }).toEqual({ path, status, code });
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    }
  });

  it('lists per endpoint the events not delivered successfully', async () => {
    const good = await sink(() => Promise.resolve({ status: 200 }));
    const bad = await sink(() => Promise.resolve({ status: 500 }));
    const okEp = await register(t, `${good.url}/ok`, { eventTypes: ['order.paid'] });
    const badEp = await register(t, `${bad.url}/bad`, { eventTypes: ['order.paid'] });
    const order = await createOrder(t.url);
    await payOrder(t.url, order.id, { paymentMethod: 'pm_card_ok' });
    const page = await waitFor('the failed delivery', async () => {
      const res = await http(t.url, 'GET', `/webhook-endpoints/${badEp.id}/undelivered-events`, undefined, admin);
      return res.body.data?.[0]?.status === 'failed' ? res.body : undefined;
    });
    expect(page.data).toHaveLength(1);
    expect(page.data[0]).toMatchObject({ event: { type: 'order.paid', data: { order_id: order.id } }, attempts: 2 });
    await waitFor('the delivery to the good endpoint', () => Promise.resolve(good.requests.length > 0));
    await waitFor('the good delivery recorded', async () => {
      const res = await http(t.url, 'GET', `/webhook-endpoints/${okEp.id}/undelivered-events`, undefined, admin);
      return res.body.data.length === 0;
    });
  });
});
