import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AllConfig } from '../../../config/env.js';
import { FAIL_FAST, RedisConnections, type Redis } from '../../../redis/redis-connections.js';
import { OutboundMetrics } from '../outbound-metrics.js';
import type { WebhookEndpoint } from '../outbound.entities.js';
import { DeliveryDeferred } from './delivery-job.js';

/**
 * The per-endpoint limits of attempts: the endpoint's rate limit (`rateLimitPerS`, a Redis
 * counter per second shared by every process) and its share of this process's slots
 * (WEBHOOK_ENDPOINT_CONCURRENCY attempts in flight), so one slow endpoint cannot hold
 * every slot and delay the others. An attempt over either is put off, not counted.
 */
@Injectable()
export class EndpointThrottle implements OnModuleInit {
  private readonly logger = new Logger('Outbound');
  private readonly perEndpoint: number;
  private readonly inFlight = new Map<string, number>();
  private readonly redis: Redis;
  private readonly rateKeyPrefix: string;

  constructor(
    private readonly metrics: OutboundMetrics,
    config: ConfigService<AllConfig, true>,
    connections: RedisConnections,
  ) {
    this.perEndpoint = config.get('WEBHOOK_ENDPOINT_CONCURRENCY', { infer: true });
    this.rateKeyPrefix = `${config.get('REDIS_PREFIX', { infer: true })}:webhook-rate:`;
    // A limiter that cannot count lets the delivery through: its errors are not logged one by one.
    this.redis = connections.create('Outbound', { ...FAIL_FAST, errors: 'ignore' });
  }

  /** Connected before the first delivery: a limiter still connecting would let everything through. */
  async onModuleInit(): Promise<void> {
    await this.redis.connect().catch((err: Error) => {
      this.logger.warn(`Rate limiter cannot reach Redis yet (${err.message}); endpoints are not limited until it can`);
    });
  }

  /**
   * Throws DeliveryDeferred (not counted) when the endpoint is at its rate limit for the
   * second of `at`, or already has its share of this process's slots.
   */
  async admit(endpoint: WebhookEndpoint, at: Date): Promise<void> {
    if ((this.inFlight.get(endpoint.id) ?? 0) >= this.perEndpoint) {
      this.metrics.deferred.inc({ reason: 'endpoint_busy' });
      throw new DeliveryDeferred(`endpoint ${endpoint.id} is busy`, 200 + Math.floor(Math.random() * 300), false);
    }
    if (endpoint.rateLimitPerS === null) return;
    const second = Math.floor(at.getTime() / 1000);
    let count: number;
    try {
      const key = `${this.rateKeyPrefix}${endpoint.id}:${second}`;
      const [[, n]] = (await this.redis.multi().incr(key).pexpire(key, 2000).exec()) as [[unknown, number]];
      count = n;
    } catch {
      return;
    }
    if (count > endpoint.rateLimitPerS) {
      this.metrics.deferred.inc({ reason: 'rate_limited' });
      const untilNextSecond = (second + 1) * 1000 - Date.now();
      throw new DeliveryDeferred(
        `endpoint ${endpoint.id} is at its rate limit (${endpoint.rateLimitPerS}/s)`,
        untilNextSecond + Math.floor(Math.random() * 1000),
        false,
      );
    }
  }

  /** Runs `send` holding one of the endpoint's slots (taken at once, given back when it settles). */
  async holdingSlot<T>(endpoint: WebhookEndpoint, send: () => Promise<T>): Promise<T> {
    this.inFlight.set(endpoint.id, (this.inFlight.get(endpoint.id) ?? 0) + 1);
    try {
      return await send();
    } finally {
      const n = (this.inFlight.get(endpoint.id) ?? 1) - 1;
      if (n > 0) this.inFlight.set(endpoint.id, n);
      else this.inFlight.delete(endpoint.id);
    }
  }
}
