import { Client } from 'pg';
import type { TestApp } from '../utils/create-test-app.js';
import { ADMIN_KEY, PSP_KEY, TEST_DATABASE_URL } from '../utils/test-env.js';
import { http } from './orders.factory.js';

export const admin = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' };
export const psp = { authorization: `Bearer ${PSP_KEY}`, 'content-type': 'application/json' };

export interface Endpoint {
  id: string;
  secret: string;
  status: string;
  disabledReason: string | null;
}

/** Registers an endpoint for `url` through the API (the shop's admin API unless `prefix` says otherwise). */
export async function register(
  t: TestApp,
  url: string,
  body: Record<string, unknown> = {},
  headers = admin,
  prefix = '',
) {
  const res = await http(t.url, 'POST', `${prefix}/webhook-endpoints`, { url, ...body }, headers);
  if (res.status !== 201) throw new Error(`register: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as Endpoint;
}

/**
 * Endpoints live in the shared test database: leave none behind for the suites that
 * follow. Run after the app is closed, so no delivery is being recorded meanwhile.
 */
export async function forgetEndpoints(): Promise<void> {
  const client = new Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DELETE FROM webhook_endpoints WHERE kind = 'registered'`);
  } finally {
    await client.end();
  }
}
