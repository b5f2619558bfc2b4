import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { OnDrain } from '../boot-contribution.js';
import type { AllConfig } from '../config/env.js';
import { RedisConnections, type Redis } from '../redis/redis-connections.js';

/**
 * Wakes long polls when a payment settles, across PSP replicas: the settling replica
 * publishes the payment id on a Redis channel; every replica's subscriber resolves
 * the waiters it holds for that id. Waiters also end on timeout, on abort (client
 * gone) and on shutdown.
 */
@Injectable()
export class SettlementNotifier implements OnModuleDestroy, OnDrain {
  private readonly logger = new Logger('SettlementNotifier');
  private readonly channel: string;
  private readonly pub: Redis;
  private readonly sub: Redis;
  private subscribed: Promise<unknown> | null = null;
  private readonly waiters = new Map<string, Set<() => void>>();

  constructor(config: ConfigService<AllConfig, true>, redis: RedisConnections) {
    this.channel = `${config.get('REDIS_PREFIX', { infer: true })}:psp:settled`;
    this.pub = redis.create('SettlementNotifier', { lazyConnect: true, maxRetriesPerRequest: 2 });
    this.sub = redis.create('SettlementNotifier', { lazyConnect: true });
    this.sub.on('message', (_channel: string, paymentId: string) => this.wake(paymentId));
  }

  /** Announces a settled payment to every replica (best effort: a long poll also ends on its timeout). */
  async publish(paymentId: string): Promise<void> {
    try {
      await this.pub.publish(this.channel, paymentId);
    } catch (err) {
      this.logger.warn(`Could not announce settlement of ${paymentId}: ${(err as Error).message}`);
    }
  }

  /**
   * Resolves when `paymentId` settles, after `timeoutMs`, or when `signal` aborts.
   * The waiter is registered before this returns, so a caller may re-read the
   * payment afterwards without missing a settlement in between.
   */
  async prepareWait(
    paymentId: string,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<{ done: Promise<void>; cancel: () => void }> {
    this.subscribed ??= this.sub.subscribe(this.channel);
    await this.subscribed;
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const set = this.waiters.get(paymentId) ?? new Set();
    this.waiters.set(paymentId, set);
    const timer = setTimeout(() => cancel(), timeoutMs);
    const onAbort = () => cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    const wake = () => cancel();
    const cancel = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      set.delete(wake);
      if (set.size === 0 && this.waiters.get(paymentId) === set) this.waiters.delete(paymentId);
      finish();
    };
    set.add(wake);
    return { done, cancel };
  }

  get waiting(): number {
    let n = 0;
    for (const set of this.waiters.values()) n += set.size;
    return n;
  }

  private wake(paymentId: string): void {
    for (const wake of [...(this.waiters.get(paymentId) ?? [])]) wake();
  }

  /** Answers every held long poll now (with the state as it is): used when the process drains. */
  releaseAll(): void {
    for (const id of [...this.waiters.keys()]) this.wake(id);
  }

  /** Its connections close with the others (RedisConnections), after this. */
  /** Held long polls are answered now (state unchanged) instead of holding the drain for up to 30 s. */
  onDrain(): void {
    this.releaseAll();
  }

  onModuleDestroy(): void {
    this.releaseAll();
  }
}
