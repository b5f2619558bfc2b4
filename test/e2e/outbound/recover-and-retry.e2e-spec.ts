import { WebhookOutbox } from '../../../src/webhooks/outbound/webhook-outbox.js';
import { admin, register } from '../../factories/endpoints.factory.js';
import { http } from '../../factories/orders.factory.js';
import type { TestApp } from '../../utils/create-test-app.js';
import { DELIVERY_ENV, sendTest, settled, useOutboundApp } from '../../utils/outbound.js';
import { waitFor } from '../../utils/wait-for.js';

jest.setTimeout(30_000);

describe('outbound webhooks: recover and retry', () => {
  let t: TestApp;
  const { sink } = useOutboundApp(DELIVERY_ENV, (app) => (t = app));

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
});
