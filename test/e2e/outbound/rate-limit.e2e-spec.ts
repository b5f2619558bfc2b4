import { register } from '../../factories/endpoints.factory.js';
import type { TestApp } from '../../utils/create-test-app.js';
import { DELIVERY_ENV, recorderBatches, ok, publishPings, useOutboundApp } from '../../utils/outbound.js';
import { waitFor } from '../../utils/wait-for.js';

jest.setTimeout(30_000);

describe('outbound webhooks: rate limit', () => {
  let t: TestApp;
  const { sink } = useOutboundApp(DELIVERY_ENV, (app) => (t = app));

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

  it('defers a delivery over the limit once, to the slot the rate window reserved for it', async () => {
    const s = await sink(ok);
    const ep = await register(t, `${s.url}/hook`, { eventTypes: ['limit.slot'], rateLimitPerS: 5 });
    const before = await rateLimitedDeferrals(t);
    await publishPings(t, 'limit.slot', 20);
    await waitFor(
      '20 deliveries recorded',
      async () =>
        (
          await t.db.query<{ n: number }[]>(
            `SELECT count(*)::int AS n FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'succeeded'`,
            [ep.id],
          )
        )[0].n === 20,
      { timeoutMs: 15_000 },
    );
    const deferred = (await rateLimitedDeferrals(t)) - before;
    // 20 at 5 a second: at most 15 wait, each once (woken every second, they were deferred 30–60 times).
    expect(deferred).toBeGreaterThan(0);
    expect(deferred).toBeLessThanOrEqual(15);
    const perSecond = await t.db.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id
        WHERE d.endpoint_id = $1 GROUP BY floor(extract(epoch FROM a.started_at))`,
      [ep.id],
    );
    expect(perSecond.reduce((sum, r) => sum + r.n, 0)).toBe(20);
    expect(Math.max(...perSecond.map((r) => r.n))).toBeLessThanOrEqual(5);
  });

  it('defers a delivery behind a rate limit without Bull keeping a stack trace in its job', async () => {
    const s = await sink(ok);
    const ep = await register(t, `${s.url}/hook`, { eventTypes: ['limit.stack'], rateLimitPerS: 1 });
    const { queue } = recorderBatches(t);
    await publishPings(t, 'limit.stack', 8);
    const ids = (
      await t.db.query<{ id: string }[]>(`SELECT id FROM webhook_deliveries WHERE endpoint_id = $1`, [ep.id])
    ).map((r) => r.id);
    // Deferred by the rate limit (another may first be put off as "busy", by the endpoint's
    // concurrency: a deferral too, and stackless too).
    const job = await waitFor(
      'a job deferred by the rate limit',
      async () => {
        for (const id of ids) {
          const j = await queue.getJob(id);
          if (j && j.attemptsMade >= 1 && /is at its rate limit \(1\/s\)/.test(j.failedReason ?? '')) return j;
        }
        return undefined;
      },
      { timeoutMs: 15_000, intervalMs: 50 },
    );
    // Bull appends every failure's stack to the job and rewrites it whole: a deferral must add none.
    expect(job.stacktrace).toEqual([]);
    const deferred = (await Promise.all(ids.map((id) => queue.getJob(id)))).filter((j) => j?.failedReason);
    expect(deferred.every((j) => j!.stacktrace.length === 0)).toBe(true);
  }, 30_000);
});

async function rateLimitedDeferrals(t: TestApp): Promise<number> {
  const metrics = await (await fetch(`${t.url}/metrics`)).text();
  const m = /hookline_webhook_delivery_deferred_total\{reason="rate_limited"\} (\d+)/.exec(metrics);
  return m ? Number(m[1]) : 0;
}
