import { randomBytes } from 'node:crypto';
import type { ConfigService } from '@nestjs/config';
import type { AllConfig } from '../../config/env.js';
import { RedisConnections } from '../../redis/redis-connections.js';
import type { PollSchedulerTask } from './poll-scheduler.task.js';
import { PollWakeups } from './poll-wakeups.js';

// Against the real Redis (TEST_REDIS_URL), on a channel of its own.
const settings: Record<string, unknown> = {
  REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
  REDIS_PREFIX: `hookline-test-wakeups-${randomBytes(4).toString('hex')}`,
};
const config = { get: (key: string) => settings[key] } as unknown as ConfigService<AllConfig, true>;

describe('PollWakeups', () => {
  const connections: RedisConnections[] = [];
  const processWith = (scheduler?: Pick<PollSchedulerTask, 'wakeBy'>) => {
    const redis = new RedisConnections(config);
    connections.push(redis);
    return new PollWakeups(config, redis, scheduler as PollSchedulerTask | undefined);
  };

  afterEach(() => {
    for (const c of connections.splice(0)) c.onApplicationShutdown();
  });

  it("wakes another process's poll scheduler by a first poll due within its idle sleep, and only such", async () => {
    const woken: number[] = [];
    let first: () => void;
    const received = new Promise<void>((resolve) => (first = resolve));
    const worker = processWith({ wakeBy: (at) => void (woken.push(at), first()) });
    worker.onApplicationBootstrap();
    await worker.subscribed;
    const api = processWith();
    api.onApplicationBootstrap(); // no scheduler: subscribes to nothing

    const later = new Date(Date.now() + 5_000); // past the idle sleep: the scheduler finds it itself
    const now = new Date();
    await api.announce(later);
    await api.announce(now);
    await received;
    expect(woken).toEqual([now.getTime()]);
  });

  it('announces without throwing when Redis cannot be reached', async () => {
    const down = new RedisConnections({
      get: (key: string) => (key === 'REDIS_URL' ? 'redis://127.0.0.1:9' : settings[key]),
    } as unknown as ConfigService<AllConfig, true>);
    connections.push(down);
    await expect(new PollWakeups(config, down).announce(new Date())).resolves.toBeUndefined();
  });
});
