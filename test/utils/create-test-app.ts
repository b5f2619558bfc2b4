import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { createApp, prepareDatabase } from '../../src/bootstrap.js';
import { validateEnv, type Env } from '../../src/config/env.js';
import { freePort } from '../../scripts/lib/free-port.js';
import { assertTestDatabase, retireCallbackDeliveries, TEST_REDIS_PREFIX_ROOT, testAppEnv } from './test-env.js';

export interface TestApp {
  app: NestFastifyApplication;
  env: Env;
  url: string;
  db: DataSource;
  close(): Promise<void>;
}

let counter = 0;

/**
 * Starts the real application (same bootstrap as main.ts) on a free loopback port,
 * against the test database and a Redis prefix of its own. The PSP mock runs in the
 * same process and calls the shop back over real HTTP.
 */
export async function createTestApp(
  overrides: Record<string, string> | ((url: string) => Record<string, string>) = {},
): Promise<TestApp> {
  const port = await freePort();
  // A function gets the app's own URL (e.g. STRIPE_API_BASE pointing the SDK back at it);
  // TLS_CERT_FILE: the app's port speaks HTTPS only.
  const given0 = typeof overrides === 'function' ? overrides(`http://127.0.0.1:${port}`) : overrides;
  const url = `${given0.TLS_CERT_FILE ? 'https' : 'http'}://127.0.0.1:${port}`;
  const given = typeof overrides === 'function' ? overrides(url) : overrides;
  const vars: Record<string, string> = {
    ...testAppEnv(port),
    APP_ROLE: 'all',
    DB_MIGRATE_ON_BOOT: 'true',
    // pid + counter + random: jest restarts the module (and the counter) in every test file.
    REDIS_PREFIX: `${TEST_REDIS_PREFIX_ROOT}-${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 8)}`,
    PSP_SETTLE_DELAY_MIN_MS: '20',
    PSP_SETTLE_DELAY_MAX_MS: '80',
    PSP_DELIVERY_BACKOFF_MS: '50',
    LOG_LEVEL: 'error',
    // The PSP calls and the callback then go over HTTPS too (a certificate for 127.0.0.1).
    ...(given.TLS_CERT_FILE && { PUBLIC_BASE_URL: url, PSP_BASE_URL: url }),
    ...given,
  };
  // ConfigModule validates process.env, exactly as in production.
  Object.assign(process.env, vars);
  const env = validateEnv(process.env);
  assertTestDatabase(env.DATABASE_URL);
  await prepareDatabase(env);
  const app = await createApp(env);
  try {
    await app.listen(port, '127.0.0.1');
  } catch (err) {
    // A boot that fails (a test of a refused configuration) leaves no pool, queue or timer behind.
    await app.close().catch(() => undefined);
    for (const key of Object.keys(vars)) delete process.env[key];
    throw err;
  }
  const db = app.get(DataSource);
  return {
    app,
    env,
    url,
    db,
    close: async () => {
      await app.close();
      await retireCallbackDeliveries(env.PUBLIC_BASE_URL!);
      for (const key of Object.keys(vars)) delete process.env[key];
    },
  };
}
