import { Redis } from 'ioredis';
import { callerIdOf } from '../../src/http/auth/caller-identity.js';
import { http, orderBody } from '../factories/orders.factory.js';
import { captureOutput, jsonLines } from '../utils/capture-output.js';
import { createTestApp, type TestApp } from '../utils/create-test-app.js';
import { SHOP_KEY, TEST_REDIS_URL } from '../utils/test-env.js';
import { waitFor } from '../utils/wait-for.js';

const LIMIT = 4;
const SECOND_SHOP_KEY = 'sk_shop_test_identity_second_00';
const THIRD_SHOP_KEY = 'sk_shop_test_identity_third_000';
const FLOOD = 40;

/** The spellings of one credential that the API accepts: scheme in any case, spaces and tabs between. */
const spellings = (key: string) => [
  `Bearer ${key}`,
  `bearer ${key}`,
  `BEARER   ${key}`,
  `Bearer\t${key}`,
  `bEaReR \t ${key}`,
];
const as = (authorization: string) => ({ authorization, 'content-type': 'application/json' });
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** Credentials nobody was given, each different: what an attacker rotates to get a fresh budget. */
function inventedCredentials(n: number): { kind: string; header: string }[] {
  const kinds = [
    (i: number) => ({ kind: 'invented bearer', header: `Bearer sk_invented_${i}_0123456789abcdef` }),
    (i: number) => ({ kind: 'invented basic', header: basic(`user${i}`, `pw_${i}_0123456789abcdef`) }),
    (i: number) => ({ kind: 'near miss of a valid key', header: `Bearer ${SHOP_KEY}${i}` }),
    (i: number) => ({ kind: 'unknown scheme', header: `Token${i} ${SHOP_KEY}` }),
  ];
  return Array.from({ length: n }, (_, i) => kinds[i % kinds.length](i));
}

async function throttleKeys(t: TestApp): Promise<string[]> {
  const redis = new Redis(TEST_REDIS_URL);
  try {
    return await redis.keys(`${t.env.REDIS_PREFIX}:throttle:*`);
  } finally {
    redis.disconnect();
  }
}

// First in the file: nestjs-pino keeps the first app's root logger (and its level) for the process.
describe('the caller in the logs', () => {
  let t: TestApp | undefined;
  afterAll(async () => {
    await t?.close();
  });

  it('is the id of its key, the same for every spelling, never the header', async () => {
    const output = await captureOutput(async (soFar) => {
      t = await createTestApp({ LOG_LEVEL: 'log', LOG_FORMAT: 'json', API_KEYS: `${SHOP_KEY},${SECOND_SHOP_KEY}` });
      for (const [i, h] of spellings(SECOND_SHOP_KEY).entries()) {
        await (await fetch(`${t.url}/orders`, { headers: { ...as(h), 'x-request-id': `identity-key-${i}` } })).text();
      }
      const invented = await fetch(`${t.url}/orders`, {
        headers: { authorization: 'Bearer sk_invented_0123456789abcdef', 'x-request-id': 'identity-invented' },
      });
      await invented.text();
      // The access line is written once the response has gone out.
      await waitFor('the access lines', () =>
        Promise.resolve(
          jsonLines(soFar()).some((l) => l.reqId === 'identity-invented' && /^request /.test(String(l.msg))),
        ),
      );
    });
    const access = (reqId: string) =>
      jsonLines(output).filter((l) => l.reqId === reqId && /^request /.test(String(l.msg)));
    for (let i = 0; i < spellings(SECOND_SHOP_KEY).length; i++) {
      expect(access(`identity-key-${i}`)).toEqual([
        expect.objectContaining({ caller: `shop:${callerIdOf(SECOND_SHOP_KEY)}`, res: { statusCode: 200 } }),
      ]);
    }
    expect(access('identity-invented')).toEqual([
      expect.objectContaining({ caller: 'anonymous', res: { statusCode: 401 } }),
    ]);
    expect(output).not.toContain(SECOND_SHOP_KEY);
    expect(output).not.toContain('sk_invented_0123456789abcdef');
  });
});

describe('one identity per caller', () => {
  let t: TestApp;
  const count = async (table: string) => (await t.db.query(`SELECT count(*)::int AS n FROM ${table}`))[0].n as number;

  beforeEach(async () => {
    // A fresh app (and Redis prefix) per test: each starts with empty buckets.
    t = await createTestApp({
      RATE_LIMIT_MAX: String(LIMIT),
      RATE_LIMIT_WINDOW_S: '60',
      API_KEYS: `${SHOP_KEY},${SECOND_SHOP_KEY},${THIRD_SHOP_KEY}`,
    });
  });
  afterEach(async () => {
    await t.close();
  });

  it('counts every spelling of one key against one rate-limit bucket', async () => {
    const headers = [...spellings(SHOP_KEY), ...spellings(SHOP_KEY)].slice(0, LIMIT + 3);
    const statuses: number[] = [];
    for (const h of headers) statuses.push((await http(t.url, 'GET', '/orders', undefined, as(h))).status);
    expect(statuses).toEqual([...Array(LIMIT).fill(200), 429, 429, 429]);
    // Another key keeps its own budget, whatever this one did.
    expect((await http(t.url, 'GET', '/orders', undefined, as(`BEARER ${SECOND_SHOP_KEY}`))).status).toBe(200);
    expect(await throttleKeys(t)).toHaveLength(2);
  });

  it('keeps one Idempotency-Key scope for every spelling of one key', async () => {
    const key = `identity-${Date.now()}`;
    const before = await count('orders');
    const answers = [];
    for (const h of spellings(THIRD_SHOP_KEY).slice(0, LIMIT)) {
      answers.push(await http(t.url, 'POST', '/orders', orderBody(), { ...as(h), 'idempotency-key': key }));
    }
    expect(answers.map((a) => a.status)).toEqual(Array(LIMIT).fill(201));
    expect(answers.map((a) => a.headers.get('idempotency-replay'))).toEqual([null, ...Array(LIMIT - 1).fill('true')]);
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
    expect(await count('orders')).toBe(before + 1);
    // The key is kept on the order it made (decision 0031).
    const rows = await t.db.query('SELECT idempotency_scope AS scope FROM orders WHERE idempotency_key = $1', [key]);
    expect(rows).toEqual([{ scope: `key:${callerIdOf(THIRD_SHOP_KEY)}` }]);
  });

  it('throttles a flood of invented credentials from one address like requests without one', async () => {
    const [orders, idempotencyRows] = [await count('orders'), await count('idempotency_keys')];
    const flood = inventedCredentials(FLOOD);
    const outcomes: { kind: string; status: number; code: string }[] = [];
    for (const [i, c] of flood.entries()) {
      const res = await http(t.url, 'POST', '/orders', orderBody(), { ...as(c.header), 'idempotency-key': `f-${i}` });
      outcomes.push({ kind: c.kind, status: res.status, code: res.body.code });
    }
    // The first LIMIT are refused as unauthenticated; the address is out of budget after that.
    expect(outcomes.slice(0, LIMIT).map((o) => o.status)).toEqual(Array(LIMIT).fill(401));
    expect(outcomes.slice(LIMIT).map((o) => [o.status, o.code])).toEqual(
      Array(FLOOD - LIMIT).fill([429, 'REQUEST.RATE_LIMITED']),
    );
    // A request without any credential from that address is in the same bucket.
    expect((await http(t.url, 'POST', '/orders', orderBody(), { 'content-type': 'application/json' })).status).toBe(
      429,
    );
    // Nothing stored, and one Redis key for the whole flood, not one per invented credential.
    expect(await count('orders')).toBe(orders);
    expect(await count('idempotency_keys')).toBe(idempotencyRows);
    expect(await throttleKeys(t)).toHaveLength(1);
    // A caller with a real key from the same address is not locked out by the flood.
    expect((await http(t.url, 'POST', '/orders', orderBody(), as(`bearer ${SHOP_KEY}`))).status).toBe(201);
  });
});
