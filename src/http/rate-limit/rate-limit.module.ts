import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { APP_GUARD } from '@nestjs/core';
import { normalizeIp, ThrottlerModule } from '@nestjs/throttler';
import type { FastifyRequest } from 'fastify';
import type { AllConfig } from '../../config/env.js';
import { callerIdentities } from '../auth/caller-identity.config.js';
import type { CallerIdentityResolver } from '../auth/caller-identity.js';
import { RedisModule } from '../../redis/redis.module.js';
import { HttpMetricsModule } from '../http-metrics.module.js';
import { CountingThrottlerGuard } from './counting-throttler.guard.js';
import { RedisThrottlerStorage } from './redis-throttler.storage.js';

@Module({ imports: [RedisModule], providers: [RedisThrottlerStorage], exports: [RedisThrottlerStorage] })
class ThrottlerStorageModule {}

/**
 * Rate limit for the public APIs (shop and PSP): RATE_LIMIT_MAX requests per
 * RATE_LIMIT_WINDOW_S per caller, shared by all replicas through Redis; over it, 429
 * problem+json with Retry-After. The webhook receiver and health checks opt out with
 * @SkipThrottle(): a PSP's burst is absorbed by the queue.
 */
@Module({
  imports: [
    HttpMetricsModule,
    ThrottlerModule.forRootAsync({
      imports: [ThrottlerStorageModule],
      inject: [ConfigService, RedisThrottlerStorage],
      useFactory: (config: ConfigService<AllConfig, true>, storage: RedisThrottlerStorage) => ({
        throttlers: [
          {
            name: 'default',
            ttl: config.get('RATE_LIMIT_WINDOW_S', { infer: true }) * 1000,
            limit: config.get('RATE_LIMIT_MAX', { infer: true }),
          },
        ],
        storage,
        errorMessage: 'Too many requests',
        getTracker: throttleTracker(callerIdentities(config)),
      }),
    }),
  ],
  providers: [{ provide: APP_GUARD, useClass: CountingThrottlerGuard }],
})
export class RateLimitModule {}

/**
 * The bucket a request counts against: the configured key it authenticated with, however
 * the header spells it; else its client address (an IPv6 client by its /64), whatever
 * made-up credential it sends — so invented keys neither escape the limit nor leave a
 * Redis key each.
 */
export function throttleTracker(identities: CallerIdentityResolver) {
  return (req: Record<string, unknown>): string => {
    const caller = identities.resolve(req as unknown as FastifyRequest);
    return caller.kind === 'key' ? `key:${caller.id}` : `ip:${normalizeIp(caller.address)}`;
  };
}
