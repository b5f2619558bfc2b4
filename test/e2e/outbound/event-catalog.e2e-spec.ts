import { admin, psp, register } from '../../factories/endpoints.factory.js';
import { createOrder, http, payOrder, shopHeaders } from '../../factories/orders.factory.js';
import type { TestApp } from '../../utils/create-test-app.js';
import { schemaViolation } from '../../utils/event-schemas.js';
import type { Sink } from '../../utils/http-sink.js';
import { ok, useOutboundApp } from '../../utils/outbound.js';
import { waitFor } from '../../utils/wait-for.js';

jest.setTimeout(30_000);

const endpointCount = async (t: TestApp) =>
  Number((await t.db.query(`SELECT count(*)::int AS n FROM webhook_endpoints`))[0].n);

describe('outbound webhooks: the event catalog', () => {
  let t: TestApp;
  let s: Sink;
  const sinks = useOutboundApp({ WEBHOOK_RETRY_SCHEDULE: '100ms' }, (app) => (t = app));
  beforeAll(async () => {
    s = await sinks.sink(ok);
  });

  it('GET /event-types answers the catalog to a shop or an admin key, and 401 to the PSP key', async () => {
    for (const headers of [shopHeaders, admin]) {
      const res = await http(t.url, 'GET', '/event-types', undefined, headers);
      expect(res.status).toBe(200);
      const types = (res.body.data as { type: string }[]).map((e) => e.type);
      expect(types).toEqual(expect.arrayContaining(['order.paid', 'order.payment_failed', 'endpoint.disabled']));
      const paid = res.body.data.find((e: { type: string }) => e.type === 'order.paid');
      expect(paid).toMatchObject({
        operational: false,
        schema: { title: 'order.paid' },
        example: { type: 'order.paid' },
      });
    }
    const refused = await http(t.url, 'GET', '/event-types', undefined, psp);
    expect(refused).toMatchObject({ status: 401, body: { code: 'AUTH.INVALID_KEY' } });
  });

  it('refuses an unknown type with 422 listing the known ones, on create and on update, and stores nothing', async () => {
    const before = await endpointCount(t);
    const res = await http(
      t.url,
      'POST',
      '/webhook-endpoints',
      { url: `${s.url}/typo`, eventTypes: ['order.payed'] },
      admin,
    );
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ code: 'WEBHOOK_ENDPOINT.UNKNOWN_EVENT_TYPE', unknownTypes: ['order.payed'] });
    expect(res.body.knownTypes).toEqual(expect.arrayContaining(['order.paid', 'order.*', 'endpoint.disabled']));
    expect(await endpointCount(t)).toBe(before);

    const ep = await register(t, `${s.url}/patched`, { eventTypes: ['order.paid'] });
    const patch = await http(
      t.url,
      'PATCH',
      `/webhook-endpoints/${ep.id}`,
      { eventTypes: ['order.*', 'nope.*'] },
      admin,
    );
    expect(patch).toMatchObject({
      status: 422,
      body: { code: 'WEBHOOK_ENDPOINT.UNKNOWN_EVENT_TYPE', unknownTypes: ['nope.*'] },
    });
    const got = await http(t.url, 'GET', `/webhook-endpoints/${ep.id}`, undefined, admin);
    expect(got.body.eventTypes).toEqual(['order.paid']);
  });

  it('delivers order.* to a wildcard subscription, each payload valid against its schema', async () => {
    const ep = await register(t, `${s.url}/orders`, { eventTypes: ['order.*'] });
    const paid = await createOrder(t.url);
    await payOrder(t.url, paid.id, { paymentMethod: 'pm_card_ok' });
    const declined = await createOrder(t.url);
    await payOrder(t.url, declined.id, { paymentMethod: 'pm_card_declined' });
    const bodies = await waitFor('order.paid and order.payment_failed at the sink', () => {
      const got = s.requests.filter((r) => r.url === '/orders').map((r) => JSON.parse(r.body) as { type: string });
      return Promise.resolve(got.length >= 2 ? got : undefined);
    });
    expect(bodies.map((b) => b.type).sort()).toEqual(['order.paid', 'order.payment_failed']);
    for (const r of s.requests.filter((q) => q.url === '/orders')) expect(schemaViolation(r.body)).toBeNull();
    expect(ep.id).toBeDefined();
  });

  it('sends an operational type to a wildcard over it (endpoint.*), never to an every-type subscription', async () => {
    await register(t, `${s.url}/every`);
    await register(t, `${s.url}/ops`, { eventTypes: ['endpoint.*'] });
    const victim = await register(t, `${s.url}/victim`, { eventTypes: ['order.paid'] });
    await http(t.url, 'PATCH', `/webhook-endpoints/${victim.id}`, { status: 'disabled' }, admin);
    const notice = await waitFor('endpoint.disabled at /ops', () =>
      Promise.resolve(s.requests.find((r) => r.url === '/ops')),
    );
    expect(JSON.parse(notice.body)).toMatchObject({ type: 'endpoint.disabled', data: { endpoint_id: victim.id } });
    expect(s.requests.filter((r) => r.url === '/every' && r.body.includes('endpoint.disabled'))).toEqual([]);
  });

  it("shows every type in the OpenAPI 3.1 document's webhooks section, with the signature headers", async () => {
    const doc = (await http(t.url, 'GET', '/docs-json', undefined, {})).body;
    expect(doc.openapi).toBe('3.1.0');
    const catalog = (await http(t.url, 'GET', '/event-types', undefined, admin)).body.data as {
      type: string;
      schema: Record<string, unknown>;
      example: unknown;
    }[];
    expect(Object.keys(doc.webhooks).sort()).toEqual(catalog.map((e) => e.type).sort());
    for (const e of catalog) {
      const op = doc.webhooks[e.type].post;
      expect(op.parameters.map((p: { in: string; name: string }) => `${p.in}:${p.name}`)).toEqual([
        'header:webhook-id',
        'header:webhook-timestamp',
        'header:webhook-signature',
      ]);
      const { $schema: _dialect, ...schema } = e.schema;
      expect(op.requestBody.content['application/json']).toEqual({ schema, example: e.example });
    }
    expect(doc.paths['/event-types']).toBeDefined();
    expect(doc.paths['/events'].get.security).toEqual([{ shop: [] }, { admin: [] }]);
  });

  it('validates payloads: every example passes, a drifted one is reported', async () => {
    const res = await http(t.url, 'GET', '/event-types', undefined, admin);
    for (const e of res.body.data as { example: unknown }[])
      expect(schemaViolation(JSON.stringify(e.example))).toBeNull();
    const paid = res.body.data.find((e: { type: string }) => e.type === 'order.paid').example;
    expect(schemaViolation(JSON.stringify({ ...paid, data: { ...paid.data, amount: '2598' } }))).toMatch(
      /^order\.paid: .*amount/,
    );
    expect(schemaViolation(JSON.stringify({ ...paid, extra: 1 }))).toMatch(/additional/);
    expect(schemaViolation(JSON.stringify({ ...paid, type: 'order.payed' }))).toBe(
      'order.payed: not in the event catalog',
    );
  });
});
