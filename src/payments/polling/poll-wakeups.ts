import { Injectable, Logger, OnApplicationBootstrap, Optional } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AllConfig } from '../../config/env.js';
import { RedisConnections, type Redis } from '../../redis/redis-connections.js';
import { POLL_IDLE_MAX_MS, PollSchedulerTask } from './poll-scheduler.task.js';

/**
 * Tells the worker processes' poll schedulers, through Redis pub/sub, that a payment the
 * api just handed to the PSP has its first poll due soon (a long poll, due at once, or a
 * short poll sooner than POLL_IDLE_MAX_MS): an idle scheduler, asleep for up to that
 * long, runs by the poll's due time instead (docs/decisions/0030-poll-wakeups.md).
 * Best effort: a lost message costs at most POLL_IDLE_MAX_MS of delay, never the poll.
 */
@Injectable()
export class PollWakeups implements OnApplicationBootstrap {
  private readonly logger = new Logger('PollWakeups');
  private readonly channel: string;
  private pub?: Redis;

  constructor(
    config: ConfigService<AllConfig, true>,
    private readonly redis: RedisConnections,
    // In the processes that run workers; absent in the api and the PSP.
    @Optional() private readonly scheduler?: PollSchedulerTask,
  ) {
    this.channel = `${config.get('REDIS_PREFIX', { infer: true })}:payments:poll-due`;
  }

  /** Settles once this process's subscription is up (or failed); boot does not wait for it. */
  subscribed: Promise<void> = Promise.resolve();

  onApplicationBootstrap(): void {
    const scheduler = this.scheduler;
    if (!scheduler) return;
    const sub = this.redis.create('PollWakeups', { lazyConnect: true });
    sub.on('message', (_channel: string, dueAt: string) => scheduler.wakeBy(Number(dueAt)));
    // ioredis resubscribes after a reconnect; until then the scheduler still looks every second.
    this.subscribed = sub.subscribe(this.channel).then(
      () => undefined,
      (err: Error) => this.logger.warn(`Could not subscribe to poll wake-ups: ${err.message}`),
    );
  }

  /** Announces a first poll due at `dueAt`, when an idle scheduler could sleep past it; never throws. */
  async announce(dueAt: Date): Promise<void> {
    if (dueAt.getTime() - Date.now() >= POLL_IDLE_MAX_MS) return;
    this.pub ??= this.redis.create('PollWakeups', { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await this.pub.publish(this.channel, String(dueAt.getTime()));
    } catch (err) {
      this.logger.warn(`Could not announce a poll due at ${dueAt.toISOString()}: ${(err as Error).message}`);
    }
  }
}
