import { randomBytes } from 'node:crypto';
import type { ConfigService } from '@nestjs/config';
import type { AllConfig } from '../../../config/env.js';
import { RedisConnections } from '../../../redis/redis-connections.js';
import type { OutboundMetrics } from '../outbound-metrics.js';
import type { WebhookEndpoint } from '../outbound.entities.js';
import { DeliveryDeferred } from './delivery-job.js';
import { EndpointThrottle } from './endpoint-throttle.js';

// Against the real Redis (TEST_REDIS_URL), under a key prefix of its own.
const settings: Record<string, unknown> = {
  REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
  REDIS_PREFIX: `hookline-test-throttle-${randomBytes(4).toString('hex')}`,
  WEBHOOK_ENDPOINT_CONCURRENCY: 2,
};
const config = { get: (key: string) => settings[key] } as unknown as ConfigService<AllConfig, true>;

describe('EndpointThrottle', () => {
  let connections: RedisConnections;
  let throttle: EndpointThrottle;
  let deferrals: string[];

  beforeEach(async () => {
    deferrals = [];
    const metrics = { deferred: { inc: ({ reason }: { reason: string }) => void deferrals.push(reason) } };
    connections = new RedisConnections(config);
    throttle = new EndpointThrottle(metrics as unknown as OutboundMetrics, config, connections);
    await throttle.onModuleInit();
  });

  afterEach(async () => {
    const redis = connections.create('Cleanup');
    const keys = await redis.keys(`${settings.REDIS_PREFIX as string}*`);
    if (keys.length > 0) await redis.del(...keys);
    connections.onApplicationShutdown();
  });

  const endpoint = (rateLimitPerS: number | null) =>
    ({ id: `ep-${randomBytes(4).toString('hex')}`, rateLimitPerS }) as WebhookEndpoint;

  /** What admitting at `at` did: 'now', or the deferral's slot second and wait. */
  const admit = async (ep: WebhookEndpoint, at: Date, reserved?: number) => {
    try {
      (await throttle.admit(ep, at, reserved))();
      return 'now' as const;
    } catch (err) {
      if (!(err instanceof DeliveryDeferred)) throw err;
      return { slot: err.slotSecond, delayMs: err.delayMs, counted: err.counted };
    }
  };

  it('admits the first rateLimitPerS of a second and puts each later one off once, to its slot, in order', async () => {
    const ep = endpoint(4);
    // Twelve attempts started in the same second (ten seconds ahead, so that none crosses into the next).
    const second = Math.floor(Date.now() / 1000) + 10;
    const at = new Date(second * 1000);
    const answers = [];
    for (let i = 0; i < 12; i++) answers.push(await admit(ep, at));
    expect(answers.slice(0, 4)).toEqual(['now', 'now', 'now', 'now']);
    const later = answers.slice(4) as { slot: number; delayMs: number; counted: boolean }[];
    expect(later.map((a) => a.slot)).toEqual([1, 1, 1, 1, 2, 2, 2, 2].map((k) => second + k));
    expect(later.every((a) => !a.counted)).toBe(true);
    // Each waits for exactly its turn: later slots, longer waits, all within their second.
    const delays = later.map((a) => a.delayMs);
    expect([...delays].sort((a, b) => a - b)).toEqual(delays);
    expect(delays[0]).toBeGreaterThan(later[0].slot * 1000 - Date.now() - 100);
    expect(delays[7]).toBeLessThan(later[7].slot * 1000 + 500 - Date.now() + 100);
    expect(deferrals).toEqual(Array(8).fill('rate_limited'));
    // Run again in its slot's second, a reserved attempt is admitted without taking another slot.
    expect(await admit(ep, new Date(later[0].slot * 1000 + 10), later[0].slot)).toBe('now');
    expect(deferrals).toHaveLength(8);
  });

  it('reserves again for an attempt that ran after its slot had gone by', async () => {
    const ep = endpoint(1);
    const now = Math.floor(Date.now() / 1000);
    expect(await admit(ep, new Date(now * 1000), now - 3)).toBe('now');
    const next = await admit(ep, new Date(now * 1000), now - 2);
    expect(next).toMatchObject({ slot: now + 1 });
  });

  it('holds the concurrency share under parallel admissions', async () => {
    const ep = endpoint(null);
    const answers = await Promise.allSettled(Array.from({ length: 6 }, () => throttle.admit(ep, new Date())));
    const admitted = answers.filter((a) => a.status === 'fulfilled');
    expect(admitted).toHaveLength(2);
    expect(deferrals).toEqual(Array(4).fill('endpoint_busy'));
    // Given back, the share admits again.
    for (const a of admitted) (a as PromiseFulfilledResult<() => void>).value();
    await expect(throttle.admit(ep, new Date())).resolves.toBeInstanceOf(Function);
  });

  it('holds the concurrency share while the rate limiter is being asked', async () => {
    const ep = endpoint(100);
    const answers = await Promise.allSettled(Array.from({ length: 5 }, () => throttle.admit(ep, new Date())));
    expect(answers.filter((a) => a.status === 'fulfilled')).toHaveLength(2);
  });

  it("starts afresh when the endpoint's limit changes, rather than reading old slots at the new limit", async () => {
    const fast = endpoint(100);
    const second = Math.floor(Date.now() / 1000) + 10;
    for (let i = 0; i < 100; i++) expect(await admit(fast, new Date(second * 1000))).toBe('now');
    const slow = { ...fast, rateLimitPerS: 1 } as WebhookEndpoint;
    expect(await admit(slow, new Date(second * 1000))).toBe('now');
    expect(await admit(slow, new Date(second * 1000))).toMatchObject({ slot: second + 1 });
  });
});
