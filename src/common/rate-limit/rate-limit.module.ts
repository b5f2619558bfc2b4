import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { createHash } from 'node:crypto';
import type { AllConfig } from '../../config/env.js';
import { CountingThrottlerGuard } from './counting-throttler.guard.js';
import { RedisThrottlerStorage } from './redis-throttler.storage.js';

@Module({ providers: [RedisThrottlerStorage], exports: [RedisThrottlerStorage] })
class ThrottlerStorageModule {}

/**
 * Rate limit for the public APIs (shop and PSP): RATE_LIMIT_MAX requests per
 * RATE_LIMIT_WINDOW_S per API key (per client IP without one), shared by all replicas
 * through Redis; over it, 429 problem+json with Retry-After. The webhook receiver and
 * health checks opt out with @SkipThrottle(): a PSP's burst is absorbed by the queue.
 */
@Module({
  imports: [
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
        getTracker: (req: Record<string, unknown>) => {
          const auth = (req.headers as Record<string, string | undefined>).authorization;
          return auth ? `key:${createHash('sha256').update(auth).digest('hex').slice(0, 32)}` : `ip:${String(req.ip)}`;
        },
      }),
    }),
  ],
  providers: [{ provide: APP_GUARD, useClass: CountingThrottlerGuard }],
})
export class RateLimitModule {}
