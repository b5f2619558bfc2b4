import { randomBytes } from 'node:crypto';
import { Client as PgClient } from 'pg';

// The environment every e2e test runs in: its own database (name contains "test")
// and its own Redis key prefix, so a developer's running instance is never touched.
const BASE_TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/hookline_test';
/**
 * jest runs its worker 1 (the only one in band) on the base database and every other worker
 * on one of its own (`<base>_w2`, …), so suites running side by side never share tables.
 */
export const TEST_DATABASE_URL = workerDatabaseUrl(BASE_TEST_DATABASE_URL, process.env.JEST_WORKER_ID);
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const TEST_REDIS_PREFIX_ROOT = 'hookline-test';

export const SHOP_KEY = 'sk_shop_test_0123456789abcdef';
export const ADMIN_KEY = 'sk_admin_test_0123456789abcdef';
export const PSP_KEY = 'sk_psp_test_0123456789abcdef';
// whsec_ + base64("hookline-test-signing-secret!!")
export const WEBHOOK_SECRET = `whsec_${Buffer.from('hookline-test-signing-secret!!').toString('base64')}`;

/**
 * Fresh random secrets, as `sh scripts/new-env.sh` writes them: what an app run with
 * NODE_ENV=production needs, since production refuses the published test keys above.
 */
export function productionSecrets(): Record<
  'API_KEYS' | 'ADMIN_API_KEYS' | 'PSP_API_KEY' | 'PSP_WEBHOOK_SECRET' | 'SEALING_KEYS',
  string
> {
  const key = () => randomBytes(32).toString('base64url');
  return {
    API_KEYS: `sk_shop_${key()}`,
    ADMIN_API_KEYS: `sk_admin_${key()}`,
    PSP_API_KEY: `sk_psp_${key()}`,
    PSP_WEBHOOK_SECRET: `whsec_${randomBytes(32).toString('base64')}`,
    SEALING_KEYS: `k1:${randomBytes(32).toString('base64')}`,
  };
}

export function workerDatabaseUrl(base: string, workerId: string | undefined): string {
  if (workerId === undefined || workerId === '1') return base;
  const u = new URL(base);
  u.pathname = `${u.pathname}_w${Number(workerId)}`;
  return u.toString();
}

export function assertTestDatabase(url: string): void {
  const name = new URL(url).pathname.slice(1);
  if (!name.includes('test')) {
    throw new Error(`Refusing to run tests against database "${name}": its name must contain "test".`);
  }
}

export async function dropDatabase(url: string): Promise<void> {
  assertTestDatabase(url);
  const u = new URL(url);
  const name = u.pathname.slice(1);
  u.pathname = '/postgres';
  const client = new PgClient({ connectionString: u.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/** Drops the run's databases: the base one and every worker's (`<base>_w<n>`). From jest's global setup and teardown. */
export async function dropWorkerDatabases(): Promise<void> {
  assertTestDatabase(BASE_TEST_DATABASE_URL);
  const u = new URL(BASE_TEST_DATABASE_URL);
  const base = u.pathname.slice(1);
  u.pathname = '/postgres';
  const client = new PgClient({ connectionString: u.toString() });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname = $1 OR datname ~ ('^' || $1 || '_w[0-9]+$')`,
      [base],
    );
    for (const { datname } of rows) await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/**
 * What every test instance of the app runs with, in-process or as a child process:
 * loopback, the test database and Redis, the test keys, and the PSP mock calling back
 * the same instance.
 */
export function testAppEnv(port: number): Record<string, string> {
  const url = `http://127.0.0.1:${port}`;
  return {
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: TEST_DATABASE_URL,
    REDIS_URL: TEST_REDIS_URL,
    PUBLIC_BASE_URL: url,
    PSP_BASE_URL: url,
    API_KEYS: SHOP_KEY,
    ADMIN_API_KEYS: ADMIN_KEY,
    PSP_API_KEY: PSP_KEY,
    PSP_WEBHOOK_SECRET: WEBHOOK_SECRET,
    // No housekeeping at boot: tests age rows and run the retentions themselves, and a
    // run of their own would delete those rows under them (housekeeping.e2e-spec sets it).
    HOUSEKEEPING_DELAY_MS: '900000',
  };
}

/**
 * Fails the outbound deliveries still pending to a test app's callback URL once it is
 * gone. The database is shared by the apps of one file (emptied only between files):
 * otherwise a later app's sweeper would deliver them to whatever listens on the recycled
 * port by then.
 */
export async function retireCallbackDeliveries(publicBaseUrl: string): Promise<void> {
  const client = new PgClient({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(
      `UPDATE webhook_deliveries d SET status = 'failed', next_attempt_at = NULL, last_error = 'test app closed'
         FROM webhook_endpoints e
        WHERE e.id = d.endpoint_id AND d.status = 'pending' AND e.kind = 'callback' AND e.url LIKE $1 || '/%'`,
      [publicBaseUrl],
    );
  } finally {
    await client.end();
  }
}

/**
 * Empties every table of the test database but the migrations' own, so that a suite
 * starts with nothing another suite left behind. The database is shared by the suites
 * of one run, and a later suite's app otherwise finishes what an earlier one left
 * unfinished: its poll scheduler polls an earlier payment still processing, its PSP
 * sweeper settles an earlier settlement whose queue went with its app, and the order
 * that gets paid publishes `order.paid` to the later suite's endpoints (an outbound
 * suite got such a delivery in the middle of a test that counted them). Nothing runs
 * then: suites run one at a time and close their apps and processes when they end. A
 * database not created yet (the run's first suite creates it) is left as it is.
 */
export async function emptyTestDatabase(url = TEST_DATABASE_URL): Promise<void> {
  assertTestDatabase(url);
  const client = new PgClient({ connectionString: url });
  try {
    await client.connect();
  } catch (err) {
    if ((err as { code?: string }).code === '3D000') return; // no database yet
    throw err;
  }
  try {
    const { rows } = await client.query<{ name: string }>(
      `SELECT quote_ident(tablename) AS name FROM pg_tables
        WHERE schemaname = 'public' AND tablename NOT IN ('migrations', 'typeorm_metadata')`,
    );
    if (rows.length === 0) return;
    // A backend still holding a lock (a killed process's) makes this fail clearly, not hang.
    await client.query(`SET lock_timeout = '10s'`);
    await client.query(`TRUNCATE ${rows.map((r) => r.name).join(', ')} RESTART IDENTITY CASCADE`);
  } finally {
    await client.end();
  }
}
