import { Client } from 'pg';
import { isKnownSubscription } from '../../src/webhooks/outbound/event-catalog.js';
import type { TestApp } from '../utils/create-test-app.js';
import { allowEngineTestTypes } from '../utils/event-schemas.js';
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

/**
 * Registers an endpoint for `url` through the API (the shop's admin API unless `prefix` says
 * otherwise). A shop endpoint subscribed to an engine test's own types (flush.ping, …), which
 * the API refuses as not in the event catalog, is registered for webhook.test and gets its
 * subscription written in its row.
 */
export async function register(
  t: TestApp,
  url: string,
  body: Record<string, unknown> = {},
  headers = admin,
  prefix = '',
) {
  const types = Array.isArray(body.eventTypes) ? (body.eventTypes as string[]) : null;
  const own = prefix === '' && types ? types.filter((type) => !isKnownSubscription(type)) : [];
  const sent = own.length > 0 ? { ...body, eventTypes: ['webhook.test'] } : body;
  const res = await http(t.url, 'POST', `${prefix}/webhook-endpoints`, { url, ...sent }, headers);
  if (res.status !== 201) throw new Error(`register: ${res.status} ${JSON.stringify(res.body)}`);
  if (own.length > 0) {
    allowEngineTestTypes(own);
    await t.db.query(`UPDATE webhook_endpoints SET event_types = $2 WHERE id = $1`, [res.body.id, types]);
  }
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
