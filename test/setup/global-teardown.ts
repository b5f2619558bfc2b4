import { Redis } from 'ioredis';
import { dropWorkerDatabases, TEST_REDIS_PREFIX_ROOT, TEST_REDIS_URL } from '../utils/test-env'; // extensionless: globalSetup runs outside jest's module mapper;

/** Leaves nothing behind: drops the test database and deletes every test Redis key. */
export default async function globalTeardown(): Promise<void> {
  await dropWorkerDatabases();
  const redis = new Redis(TEST_REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${TEST_REDIS_PREFIX_ROOT}*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
