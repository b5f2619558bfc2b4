import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Redis, type RedisOptions } from 'ioredis';
import type { AllConfig } from '../config/env.js';

export type { Redis };

/**
 * For a connection that must never hold a caller up: it connects when first used, a
 * command sent while Redis is unreachable fails at once instead of waiting in the offline
 * queue, and one retry at most (the rate limiters, the health check).
 */
export const FAIL_FAST: RedisOptions = { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 };

export interface RedisConnectionOptions extends RedisOptions {
  /**
   * What a connection error does: `warn` (default) logs `Redis: <message>` under the
   * connection's name; `ignore` leaves it to the caller, whose commands fail.
   */
  errors?: 'warn' | 'ignore';
}

/**
 * The one place Hookline opens Redis connections (Bull opens its queues' own): each to
 * REDIS_URL, with an error listener (ioredis throws an unhandled `error` event without one),
 * and every one closed when the application shuts down, after the modules that use them.
 */
@Injectable()
export class RedisConnections implements OnApplicationShutdown {
  private readonly url: string;
  private readonly opened = new Set<Redis>();

  constructor(config: ConfigService<AllConfig, true>) {
    this.url = config.get('REDIS_URL', { infer: true });
  }

  /** A new connection; `name` is the log context of its errors. */
  create(name: string, { errors = 'warn', ...options }: RedisConnectionOptions = {}): Redis {
    const redis = new Redis(this.url, options);
    if (errors === 'warn') {
      const logger = new Logger(name);
      redis.on('error', (err: Error) => logger.warn(`Redis: ${err.message}`));
    } else {
      redis.on('error', () => undefined);
    }
    this.opened.add(redis);
    return redis;
  }

  onApplicationShutdown(): void {
    for (const redis of this.opened) redis.disconnect();
    this.opened.clear();
  }
}
