import { Logger } from '@nestjs/common';
import type { ConfigService } from '@nestjs/config';
import type { AllConfig } from '../config/env.js';
import { FAIL_FAST, RedisConnections } from './redis-connections.js';

const config = { get: () => 'redis://127.0.0.1:1' } as unknown as ConfigService<AllConfig, true>;

describe('RedisConnections', () => {
  afterEach(() => jest.restoreAllMocks());

  it('opens connections to REDIS_URL with the options given, not before they are used (lazyConnect)', () => {
    const connections = new RedisConnections(config);
    const redis = connections.create('Test', { ...FAIL_FAST, connectTimeout: 2000 });
    expect(redis.status).toBe('wait');
    expect(redis.options).toMatchObject({
      port: 1,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
    });
    connections.onApplicationShutdown();
  });

  it('logs a connection error as "Redis: <message>" under its name, or ignores it', () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const connections = new RedisConnections(config);
    connections.create('SettlementNotifier', { lazyConnect: true }).emit('error', new Error('refused'));
    connections.create('RateLimit', { ...FAIL_FAST, errors: 'ignore' }).emit('error', new Error('quiet'));
    expect(warn.mock.calls).toEqual([['Redis: refused']]);
    connections.onApplicationShutdown();
  });

  it('closes every connection it made when the application shuts down', () => {
    const connections = new RedisConnections(config);
    const made = [connections.create('A', { lazyConnect: true }), connections.create('B', FAIL_FAST)];
    connections.onApplicationShutdown();
    expect(made.map((r) => r.status)).toEqual(['end', 'end']);
  });
});
