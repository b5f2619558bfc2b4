import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type { AllConfig } from '../../config/env.js';
import { FAIL_FAST, RedisConnections, type Redis } from '../../redis/redis-connections.js';

// One round trip: count the hit, start the window on the first one, report what is left.
const HIT = `
local hits = redis.call('INCR', KEYS[1])
if hits == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
return { hits, ttl }`;

/**
 * Fixed-window counters in Redis, so that every API replica shares one limit per
 * client. (The maintained Redis storage for @nestjs/throttler does not support
 * Nest 12 yet.) If Redis is unreachable, requests are let through: the limiter
 * protects capacity, it must not take the API down with it.
 */
@Injectable()
export class RedisThrottlerStorage implements ThrottlerStorage {
  private readonly logger = new Logger('RateLimit');
  private readonly redis: Redis;
  private readonly prefix: string;
  /** The first connect, shared by every request that arrives before it is done. */
  private connecting: Promise<void> | null = null;

  constructor(config: ConfigService<AllConfig, true>, connections: RedisConnections) {
    this.prefix = `${config.get('REDIS_PREFIX', { infer: true })}:throttle:`;
    this.redis = connections.create('RateLimit', { ...FAIL_FAST, errors: 'ignore' }); // surfaced per call below
  }

  async increment(
    key: string,
    ttlMs: number,
    limit: number,
  ): Promise<{
    totalHits: number;
    timeToExpire: number;
    isBlocked: boolean;
    timeToBlockExpire: number;
  }> {
    try {
      // Without the offline queue a command sent while the first connect is under way fails
      // ("Stream isn't writeable"): every request of a first burst waits for the one connect.
      if (this.redis.status === 'wait' || this.connecting) {
        this.connecting ??= this.redis.connect().finally(() => (this.connecting = null));
        await this.connecting;
      }
      const [hits, pttl] = (await this.redis.eval(HIT, 1, this.prefix + key, ttlMs)) as [number, number];
      const timeToExpire = Math.max(1, Math.ceil(pttl / 1000));
      const isBlocked = hits > limit;
      return { totalHits: hits, timeToExpire, isBlocked, timeToBlockExpire: isBlocked ? timeToExpire : 0 };
    } catch (err) {
      this.logger.warn(`Rate limiter unavailable, letting the request through: ${(err as Error).message}`);
      return { totalHits: 0, timeToExpire: 0, isBlocked: false, timeToBlockExpire: 0 };
    }
  }
}
