import { randomBytes } from 'node:crypto';
import type { ConfigService } from '@nestjs/config';
import type { AllConfig } from '../../config/env.js';
import { RedisConnections } from '../../redis/redis-connections.js';
import { RedisThrottlerStorage } from './redis-throttler.storage.js';

// Against the real Redis (TEST_REDIS_URL), under a key prefix of its own.
const settings: Record<string, unknown> = {
  REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
  REDIS_PREFIX: `hookline-test-ratelimit-${randomBytes(4).toString('hex')}`,
};
const config = { get: (key: string) => settings[key] } as unknown as ConfigService<AllConfig, true>;

describe('RedisThrottlerStorage', () => {
  let connections: RedisConnections;

  beforeEach(() => {
    connections = new RedisConnections(config);
  });

  afterEach(async () => {
    const redis = connections.create('Cleanup');
    const keys = await redis.keys(`${settings.REDIS_PREFIX as string}*`);
    if (keys.length > 0) await redis.del(...keys);
    connections.onApplicationShutdown();
  });

  it('counts every request of a burst that arrives before its first connection is up', async () => {
    const storage = new RedisThrottlerStorage(config, connections);
    const results = await Promise.all(Array.from({ length: 20 }, () => storage.increment('client-a', 60_000, 10)));
    expect(results.map((r) => r.totalHits).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(results.filter((r) => r.isBlocked)).toHaveLength(10);
  });

  it('lets requests through, unblocked, when Redis cannot be reached', async () => {
    const down = new RedisConnections({
      get: (key: string) => (key === 'REDIS_URL' ? 'redis://127.0.0.1:9' : settings[key]),
    } as unknown as ConfigService<AllConfig, true>);
    try {
      const storage = new RedisThrottlerStorage(config, down);
      const result = await storage.increment('client-b', 60_000, 1);
      expect(result).toEqual({ totalHits: 0, timeToExpire: 0, isBlocked: false, timeToBlockExpire: 0 });
    } finally {
      down.onApplicationShutdown();
    }
  });
});
