import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AllConfig } from '../../../config/env.js';
import { FAIL_FAST, RedisConnections, type Redis } from '../../../redis/redis-connections.js';
import { OutboundMetrics } from '../outbound-metrics.js';
import type { WebhookEndpoint } from '../outbound.entities.js';
import { DeliveryDeferred } from './delivery-job.js';

/**
 * Reserves an endpoint's next free attempt slot: slot n lies in second floor(n / limit), so
 * the counter hands out `limit` slots a second, never one in a second already past
 * (ARGV: the current second, the limit, now in ms). Answers n; the key lives until the
 * slot's second is over.
 */
const RESERVE_SLOT = `
local limit = tonumber(ARGV[2])
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
local first = tonumber(ARGV[1]) * limit
if n < first then n = first end
local ttl = (math.floor(n / limit) + 1) * 1000 - tonumber(ARGV[3]) + 2000
redis.call('SET', KEYS[1], string.format('%d', n + 1), 'PX', string.format('%d', ttl))
return string.format('%d', n)
`;

/**
 * Within its second, a reserved slot's attempt is started this far into it at most (its
 * place among the second's slots spread over it): the rest of the second absorbs a job that
 * Bull starts late, which would otherwise miss its second and queue again.
 */
const SLOT_SPREAD_MS = 500;

/** Gives back the endpoint's share of this process's slots that an admission took. */
export type Release = () => void;

/**
 * The per-endpoint limits of attempts: the endpoint's rate limit (`rateLimitPerS`, slots
 * reserved from a Redis counter per endpoint shared by every process) and its share of
 * this process's slots (WEBHOOK_ENDPOINT_CONCURRENCY attempts in flight), so one slow
 * endpoint cannot hold every slot and delay the others. An attempt over the rate limit is
 * put off once, to the slot it reserved; one over the concurrency share is put off briefly.
 * Neither is counted as an attempt.
 */
@Injectable()
export class EndpointThrottle implements OnModuleInit {
  private readonly logger = new Logger('Outbound');
  private readonly perEndpoint: number;
  private readonly inFlight = new Map<string, number>();
  private readonly redis: Redis & SlotCommands;
  private readonly rateKeyPrefix: string;

  constructor(
    private readonly metrics: OutboundMetrics,
    config: ConfigService<AllConfig, true>,
    connections: RedisConnections,
  ) {
    this.perEndpoint = config.get('WEBHOOK_ENDPOINT_CONCURRENCY', { infer: true });
    this.rateKeyPrefix = `${config.get('REDIS_PREFIX', { infer: true })}:webhook-rate:`;
    // A limiter that cannot count lets the delivery through: its errors are not logged one by one.
    const redis = connections.create('Outbound', { ...FAIL_FAST, errors: 'ignore' });
    redis.defineCommand('reserveSlot', { numberOfKeys: 1, lua: RESERVE_SLOT });
    this.redis = redis as Redis & SlotCommands;
  }

  /** Connected before the first delivery: a limiter still connecting would let everything through. */
  async onModuleInit(): Promise<void> {
    await this.redis.connect().catch((err: Error) => {
      this.logger.warn(`Rate limiter cannot reach Redis yet (${err.message}); endpoints are not limited until it can`);
    });
  }

  /**
   * Admits an attempt started `at`, taking one of the endpoint's slots in this process
   * (before any await, so parallel admissions cannot all pass): call the answer to give
   * it back once the attempt settles. Throws DeliveryDeferred (not counted) when the
   * endpoint already has its share of slots, or when its rate limit has no room left in the
   * second of `at`: the attempt is then put off to the slot it reserved, whose second it
   * carries (`slotSecond`); passed back as `reservedSecond` when the job runs again, that
   * slot admits it without counting it twice.
   */
  async admit(endpoint: WebhookEndpoint, at: Date, reservedSecond?: number): Promise<Release> {
    const held = this.inFlight.get(endpoint.id) ?? 0;
    if (held >= this.perEndpoint) {
      this.metrics.deferred.inc({ reason: 'endpoint_busy' });
      throw new DeliveryDeferred(`endpoint ${endpoint.id} is busy`, 200 + Math.floor(Math.random() * 300), false);
    }
    this.inFlight.set(endpoint.id, held + 1);
    const release = () => {
      const n = (this.inFlight.get(endpoint.id) ?? 1) - 1;
      if (n > 0) this.inFlight.set(endpoint.id, n);
      else this.inFlight.delete(endpoint.id);
    };
    try {
      await this.rateLimit(endpoint, at, reservedSecond);
    } catch (err) {
      release();
      throw err;
    }
    return release;
  }

  private async rateLimit(endpoint: WebhookEndpoint, at: Date, reservedSecond: number | undefined): Promise<void> {
    const limit = endpoint.rateLimitPerS;
    if (limit === null) return;
    const second = Math.floor(at.getTime() / 1000);
    if (reservedSecond === second) return;
    if (reservedSecond !== undefined && reservedSecond > second) {
      // Started before its slot's second (a clock step, an early retry): it waits for it.
      throw this.deferred(endpoint, reservedSecond, reservedSecond * 1000 - Date.now());
    }
    // No reservation, or one whose second went by before the job ran: a slot now or the next free one.
    let slot: number;
    try {
      // A counter per limit: slot numbers mean seconds only at the limit that handed them out.
      const key = `${this.rateKeyPrefix}${endpoint.id}:${limit}`;
      slot = Number(await this.redis.reserveSlot(key, second, limit, Date.now()));
    } catch {
      return;
    }
    const slotSecond = Math.floor(slot / limit);
    if (slotSecond <= second) return;
    const place = slot % limit;
    const startsAt = slotSecond * 1000 + Math.floor((place * SLOT_SPREAD_MS) / limit);
    throw this.deferred(endpoint, slotSecond, startsAt - Date.now());
  }

  private deferred(endpoint: WebhookEndpoint, slotSecond: number, delayMs: number): DeliveryDeferred {
    this.metrics.deferred.inc({ reason: 'rate_limited' });
    return new DeliveryDeferred(
      `endpoint ${endpoint.id} is at its rate limit (${endpoint.rateLimitPerS}/s): its slot is at ${new Date(slotSecond * 1000).toISOString()}`,
      Math.max(0, delayMs),
      false,
      undefined,
      slotSecond,
    );
  }
}

interface SlotCommands {
  reserveSlot(key: string, second: number, limit: number, nowMs: number): Promise<string>;
}
