import { admin, register } from '../../factories/endpoints.factory.js';
import { createOrder, http, payOrder } from '../../factories/orders.factory.js';
import type { TestApp } from '../../utils/create-test-app.js';
import type { SinkRequest } from '../../utils/http-sink.js';
import { DELIVERY_ENV, ok, useOutboundApp } from '../../utils/outbound.js';
import { waitFor } from '../../utils/wait-for.js';

jest.setTimeout(30_000);

interface Notice {
  type: string;
  data: Record<string, unknown>;
}

describe('outbound webhooks: operational events', () => {
  let t: TestApp;
  const { sink } = useOutboundApp(DELIVERY_ENV, (app) => (t = app));

  const noticesAt = (requests: SinkRequest[]) => requests.map((r) => JSON.parse(r.body) as Notice);

  it('tells an operations endpoint when a delivery gave up and when one recovered after failures', async () => {
    const ops = await sink(ok);
    await register(t, `${ops.url}/ops`, { eventTypes: ['message.*'] });
    const flaky = await sink((_req, n) => Promise.resolve({ status: n <= 2 ? 503 : 200 }));
    const dead = await sink(() => Promise.resolve({ status: 500 }));
    const flakyEp = await register(t, `${flaky.url}/hook`, { eventTypes: ['order.paid'] });
    const deadEp = await register(t, `${dead.url}/hook`, { eventTypes: ['order.paid'] });
    const order = await createOrder(t.url);
    await payOrder(t.url, order.id, { paymentMethod: 'pm_card_ok' });

    const notices = await waitFor('exhausted and recovered at the operations endpoint', () => {
      const got = noticesAt(ops.requests);
      return Promise.resolve(got.length >= 2 ? got : undefined);
    });
    const byType = Object.fromEntries(notices.map((n) => [n.type, n.data]));
    expect(byType['message.attempt.recovered']).toMatchObject({
      endpoint_id: flakyEp.id,
      message_type: 'order.paid',
      attempts: 3,
    });
    expect(byType['message.attempt.exhausted']).toMatchObject({
      endpoint_id: deadEp.id,
      message_type: 'order.paid',
      attempts: 4,
      last_error: expect.stringContaining('500'),
    });
    // The operational messages themselves are never the subject of another notice.
    expect(notices).toHaveLength(2);
    const events = await http(t.url, 'GET', '/events?types=message.*', undefined, admin);
    expect(events.body.data.map((e: Notice) => e.type).sort()).toEqual([
      'message.attempt.exhausted',
      'message.attempt.recovered',
    ]);
  });

  it('tells an endpoint subscribed to endpoint.* when another is disabled and enabled again', async () => {
    const ops = await sink(ok);
    await register(t, `${ops.url}/endpoints`, { eventTypes: ['endpoint.*'] });
    const other = await register(t, `${ops.url}/other`, { eventTypes: ['order.paid'] });
    await http(t.url, 'PATCH', `/webhook-endpoints/${other.id}`, { status: 'disabled' }, admin);
    await http(t.url, 'PATCH', `/webhook-endpoints/${other.id}`, { status: 'enabled' }, admin);
    const notices = await waitFor('endpoint.disabled then endpoint.enabled', () => {
      const got = noticesAt(ops.requests.filter((r) => r.url === '/endpoints'));
      return Promise.resolve(got.length >= 2 ? got : undefined);
    });
    expect(notices.map((n) => n.type).sort()).toEqual(['endpoint.disabled', 'endpoint.enabled']);
    expect(notices.find((n) => n.type === 'endpoint.enabled')!.data).toEqual({
      endpoint_id: other.id,
      url: `${ops.url}/other`,
    });
  });
});
