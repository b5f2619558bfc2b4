import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { FAIL_FAST, RedisConnections, type Redis } from '../redis/redis-connections.js';

@Injectable()
export class RedisHealthIndicator {
  private readonly redis: Redis;

  constructor(
    private readonly indicators: HealthIndicatorService,
    connections: RedisConnections,
  ) {
    // Errors are reported through the check.
    this.redis = connections.create('RedisHealth', { ...FAIL_FAST, connectTimeout: 2000, errors: 'ignore' });
  }

  async isHealthy(key: string) {
    const check = this.indicators.check(key);
    try {
      if (this.redis.status === 'wait' || this.redis.status === 'end') await this.redis.connect();
      await this.redis.ping();
      return check.up();
    } catch (err) {
      return check.down({ message: (err as Error).message });
    }
  }
}
