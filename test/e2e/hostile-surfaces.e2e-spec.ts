import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { connect } from 'node:net';
import { Client } from 'pg';
import { PostgresQueryRunner } from 'typeorm/driver/postgres/PostgresQueryRunner.js';
import { INBOX_STATS_TTL_MS } from '../../src/webhooks/inbound/inbox-backlog-gauges.js';
import { createOrder, payOrder } from '../factories/orders.factory.js';
import { createTestApp, type TestApp } from '../utils/create-test-app.js';
import { freePort } from '../../scripts/lib/free-port.js';
import { sleep } from '../../scripts/lib/sleep.js';
import { ADMIN_KEY, SHOP_KEY, TEST_DATABASE_URL, productionSecrets } from '../utils/test-env.js';

/** Production refuses the published test keys: its apps here run on fresh ones. */
const PROD = productionSecrets();
import { waitFor } from '../utils/wait-for.js';

/**
 * The operational surfaces under hostile use: /metrics (token, own listener, bounded
 * queries), Swagger UI and the OpenAPI document (DOCS_ACCESS), the security headers
 * (HSTS and upgrade-insecure-requests only over TLS, TRUST_PROXY) and the /ui pages' CSP.
 */

const METRICS_TOKEN = 'mt_0123456789abcdefghijklmnopqrstuvwxyz';
const basic = (password: string) => `Basic ${Buffer.from(`ops:${password}`).toString('base64')}`;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * A GET sent as written (no URL normalisation), from `localAddress` when given: the
 * test's way to be a peer other than 127.0.0.1.
 */
function get(base: string, path: string, headers: Record<string, string> = {}, localAddress?: string): Promise<Answer> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method: 'GET', headers, localAddress, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const csp = (a: Answer) => String(a.headers['content-security-policy'] ?? '');
const directive = (a: Answer, name: string) =>
  csp(a)
    .split(';')
    .map((d) => d.trim())
    .find((d) => d === name || d.startsWith(`${name} `));

/**
 * Puts process.env back as it was: a production app's ConfigModule writes the values it
 * derived (DOCS_ACCESS=off…) into process.env, where the next app of this file would read them.
 */
function keepProcessEnv(): () => void {
  const saved = { ...process.env };
  return () => {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  };
}

/** Counts the inbox-backlog statements the metrics run, whatever connection they use. */
function countInboxQueries(): { count: () => number; restore: () => void } {
  const spy = jest.spyOn(PostgresQueryRunner.prototype, 'query');
  return {
    count: () => spy.mock.calls.filter(([sql]) => String(sql).includes('/* metrics: inbox backlog */')).length,
    restore: () => spy.mockRestore(),
  };
}

describe('hostile surfaces: production behind a trusted proxy (METRICS_TOKEN, DOCS_ACCESS=admin, TRUST_PROXY)', () => {
  let t: TestApp;
  let restoreEnv: () => void;

  beforeAll(async () => {
    restoreEnv = keepProcessEnv();
    t = await createTestApp({
      ...PROD,
      NODE_ENV: 'production',
      METRICS_TOKEN,
      DOCS_ACCESS: 'admin',
      TRUST_PROXY: '127.0.0.1',
      // The backlog gauge counts up to 10 x this.
      INBOX_BACKLOG_LIMIT: '2',
    });
  });
  afterAll(async () => {
    await t.close();
    restoreEnv();
  });

  it('refuses /metrics without the exact token, in every spelling, and serves it with the token', async () => {
    const hostile: [string, string, Record<string, string>][] = [
      ['no header', '/metrics', {}],
      ['empty bearer', '/metrics', { authorization: 'Bearer ' }],
      ['wrong token, same length', '/metrics', { authorization: `Bearer ${'x'.repeat(METRICS_TOKEN.length)}` }],
      ['token minus its last character', '/metrics', { authorization: `Bearer ${METRICS_TOKEN.slice(0, -1)}` }],
      ['token plus a character', '/metrics', { authorization: `Bearer ${METRICS_TOKEN}x` }],
      ['token in upper case', '/metrics', { authorization: `Bearer ${METRICS_TOKEN.toUpperCase()}` }],
      ['two tokens', '/metrics', { authorization: `Bearer wrong ${METRICS_TOKEN}` }],
      ['token as Basic password', '/metrics', { authorization: basic(METRICS_TOKEN) }],
      ['another scheme', '/metrics', { authorization: `Token ${METRICS_TOKEN}` }],
      ['bare token', '/metrics', { authorization: METRICS_TOKEN }],
      ['an admin key', '/metrics', { authorization: `Bearer ${PROD.ADMIN_API_KEYS}` }],
      ['a shop key', '/metrics', { authorization: `Bearer ${PROD.API_KEYS}` }],
      ['token in a custom header', '/metrics', { 'x-metrics-token': METRICS_TOKEN }],
      ['token in the query', `/metrics?token=${METRICS_TOKEN}&access_token=${METRICS_TOKEN}`, {}],
      ['trailing slash', '/metrics/', {}],
      ['upper-case path', '/METRICS', {}],
      ['encoded path', '/%6detrics', {}],
      ['double slash', '//metrics', {}],
      ['dot segment', '/x/../metrics', {}],
    ];
    const refused: string[] = [];
    for (const [name, path, headers] of hostile) {
      const res = await get(t.url, path, headers);
      if (res.status === 200 || res.body.includes('hookline_')) refused.push(`${name}: ${res.status}`);
      expect(res.status === 401 || res.status === 404).toBe(true);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      if (res.status === 401) {
        expect(res.headers['www-authenticate']).toBe('Bearer realm="metrics"');
        expect(JSON.parse(res.body).code).toMatch(/^AUTH\.(MISSING|INVALID)_KEY$/);
      }
    }
    expect(refused).toEqual([]);
    // The token never appears in what is answered.
    const wrong = await get(t.url, '/metrics', { authorization: `Bearer ${METRICS_TOKEN}x` });
    expect(wrong.body).not.toContain(METRICS_TOKEN);

    for (const authorization of [`Bearer ${METRICS_TOKEN}`, `bearer ${METRICS_TOKEN}`]) {
      const ok = await get(t.url, '/metrics', { authorization });
      expect(ok.status).toBe(200);
      expect(ok.headers['content-type']).toContain('text/plain');
      expect(ok.body).toContain('hookline_inbox_backlog');
    }
  });

  it('runs one inbox query for 20 concurrent scrapes and at most one per interval for a scrape loop', async () => {
    const scrape = () => get(t.url, '/metrics', { authorization: `Bearer ${METRICS_TOKEN}` });
    const queries = countInboxQueries();
    try {
      // Rounds of 20 concurrent scrapes until one meets the cached answer of the test above
      // expired: that round, like every other, runs at most one inbox query.
      const rounds: { statuses: number[]; queries: number }[] = [];
      await waitFor(
        '20 concurrent scrapes that refresh the inbox stats',
        async () => {
          const before = queries.count();
          const answers = await Promise.all(Array.from({ length: 20 }, scrape));
          rounds.push({ statuses: answers.map((a) => a.status), queries: queries.count() - before });
          return rounds[rounds.length - 1].queries > 0;
        },
        { timeoutMs: 2 * INBOX_STATS_TTL_MS + 1_000, intervalMs: 100 },
      );
      for (const round of rounds) {
        expect(round.statuses).toEqual(Array(20).fill(200));
        expect(round.queries).toBeLessThanOrEqual(1);
      }

      // Back-to-back scrapes for a while: one query per INBOX_STATS_TTL_MS at most.
      const atLoopStart = queries.count();
      const started = Date.now();
      let scrapes = 0;
      while (Date.now() - started < 2.5 * INBOX_STATS_TTL_MS) {
        expect((await scrape()).status).toBe(200);
        scrapes++;
      }
      const elapsed = Date.now() - started;
      expect(scrapes).toBeGreaterThan(10);
      expect(queries.count() - atLoopStart).toBeLessThanOrEqual(Math.ceil(elapsed / INBOX_STATS_TTL_MS));
    } finally {
      queries.restore();
    }
  });

  it('counts the backlog only up to 10 x INBOX_BACKLOG_LIMIT, however many rows wait', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 25; i++) {
      const [{ id }] = await t.db.query(
        `INSERT INTO webhook_inbox (source, event_id, event_type, payload, received_at, verified_at, queued_at)
         VALUES ('psp', $1, 'payment.completed', '{}', now(), now(), now()) RETURNING id`,
        [`evt_cap_${randomUUID()}`],
      );
      ids.push(id);
    }
    try {
      await waitFor('the backlog gauge to read the capped count', async () => {
        const res = await get(t.url, '/metrics', { authorization: `Bearer ${METRICS_TOKEN}` });
        return /^hookline_inbox_backlog 20$/m.test(res.body);
      });
    } finally {
      await t.db.query('DELETE FROM webhook_inbox WHERE id = ANY($1)', [ids]);
    }
  });

  it('lets PostgreSQL cancel a scrape held by a lock, so scrapes do not pile up on pool connections', async () => {
    const locker = new Client({ connectionString: TEST_DATABASE_URL });
    await locker.connect();
    const waitingScrapes = async () => {
      const [{ n }] = await t.db.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND query LIKE '%/* metrics: inbox backlog */%' AND state = 'active'
            AND pid <> pg_backend_pid()`,
      );
      return n as number;
    };
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE webhook_inbox IN ACCESS EXCLUSIVE MODE');
      // Scrapes keep answering (the inbox gauges keep their last value) while the lock is held,
      // one after another as a scraper's loop would, in the background…
      let scraping = true;
      const scraper = (async () => {
        while (scraping) {
          const res = await get(t.url, '/metrics', { authorization: `Bearer ${METRICS_TOKEN}` });
          expect(res.status).toBe(200);
          expect(res.body).toContain('hookline_queue_jobs');
          await sleep(200);
        }
      })();
      scraper.catch(() => undefined); // awaited below; a failed scrape fails the test there
      try {
        // …until the cached answer expires and a scrape's inbox query waits on the lock…
        await waitFor('a scrape whose inbox query waits on the lock', async () => (await waitingScrapes()) === 1, {
          timeoutMs: 2 * INBOX_STATS_TTL_MS + 1_000,
        });
        // …and the scrapes that follow add no second waiting query.
        const started = Date.now();
        while (Date.now() - started < INBOX_STATS_TTL_MS + 1_000) {
          expect(await waitingScrapes()).toBeLessThanOrEqual(1);
          await sleep(100);
        }
      } finally {
        scraping = false;
        await scraper;
      }
      // …and the last statement is cancelled by statement_timeout, not left waiting on the lock.
      await waitFor('the blocked inbox query to be cancelled', async () => (await waitingScrapes()) === 0, {
        timeoutMs: 5_000,
      });
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      await locker.end();
    }
  });

  it('puts /docs, its files and the documents behind an admin key, without persistAuthorization', async () => {
    const paths = [
      '/docs',
      '/docs/',
      '/docs/index.html',
      '/docs/swagger-ui-init.js',
      '/docs/swagger-ui-bundle.js',
      '/docs-json',
      '/docs-yaml',
    ];
    const refusals: [string, Record<string, string>][] = [
      ['no key', {}],
      ['a wrong key', { authorization: `Bearer ${PROD.ADMIN_API_KEYS}x` }],
      ['the shop key', { authorization: `Bearer ${PROD.API_KEYS}` }],
      ['the metrics token', { authorization: `Bearer ${METRICS_TOKEN}` }],
      ['Basic with a wrong password', { authorization: basic('not-the-admin-key') }],
      [
        'Basic with the key as user name',
        { authorization: `Basic ${Buffer.from(`${PROD.ADMIN_API_KEYS}:`).toString('base64')}` },
      ],
    ];
    for (const path of paths) {
      for (const [name, headers] of refusals) {
        const res = await get(t.url, path, headers);
        expect({ path, name, status: res.status }).toEqual({ path, name, status: 401 });
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.body).not.toContain('openapi');
      }
      for (const authorization of [`Bearer ${PROD.ADMIN_API_KEYS}`, basic(PROD.ADMIN_API_KEYS)]) {
        expect({ path, status: (await get(t.url, path, { authorization })).status }).toEqual({ path, status: 200 });
      }
    }
    // Paths that only look like the docs are not served at all.
    for (const path of ['/DOCS', '/docs-json/', '/docs/../docs-json', '/%64ocs-json']) {
      const res = await get(t.url, path);
      expect(res.body).not.toContain('openapi');
      expect([401, 404]).toContain(res.status);
    }
    const init = await get(t.url, '/docs/swagger-ui-init.js', { authorization: `Bearer ${PROD.ADMIN_API_KEYS}` });
    expect(init.body).toContain('"swaggerDoc"');
    expect(init.body).toMatch(/"persistAuthorization":\s*false/);
    expect(init.body).not.toMatch(/"persistAuthorization":\s*true/);
  });

  it('sends HSTS and upgrade-insecure-requests only to requests that came over TLS through the trusted proxy', async () => {
    const viaProxy = { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.7' };
    const cases: { name: string; path: string; headers: Record<string, string>; from?: string; tls: boolean }[] = [
      { name: 'plain, direct', path: '/health/live', headers: {}, tls: false },
      { name: 'https from the trusted proxy', path: '/health/live', headers: viaProxy, tls: true },
      { name: 'https from the trusted proxy, 404', path: '/nope', headers: viaProxy, tls: true },
      { name: 'https from the trusted proxy, 401', path: '/orders', headers: viaProxy, tls: true },
      {
        name: 'http from the trusted proxy',
        path: '/health/live',
        headers: { 'x-forwarded-proto': 'http' },
        tls: false,
      },
      { name: 'https from an untrusted peer', path: '/health/live', headers: viaProxy, from: '127.0.0.2', tls: false },
      {
        name: 'https from an untrusted peer, 404',
        path: '/nope',
        headers: viaProxy,
        from: '127.0.0.3',
        tls: false,
      },
      {
        name: 'X-Forwarded-Ssl / Front-End-Https from the proxy',
        path: '/health/live',
        headers: { 'x-forwarded-ssl': 'on', 'front-end-https': 'on', forwarded: 'proto=https' },
        tls: false,
      },
    ];
    for (const c of cases) {
      const res = await get(t.url, c.path, c.headers, c.from);
      const seen = {
        name: c.name,
        hsts: res.headers['strict-transport-security'] !== undefined,
        upgrade: directive(res, 'upgrade-insecure-requests') !== undefined,
      };
      expect(seen).toEqual({ name: c.name, hsts: c.tls, upgrade: c.tls });
      if (c.tls) expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
      expect(directive(res, 'default-src')).toBe(`default-src 'self'`);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    }
  });
});

describe('hostile surfaces: production with metrics on their own listener (METRICS_PORT, default DOCS_ACCESS)', () => {
  let t: TestApp;
  let metricsPort: number;
  let restoreEnv: () => void;

  beforeAll(async () => {
    restoreEnv = keepProcessEnv();
    metricsPort = await freePort();
    t = await createTestApp({ ...PROD, NODE_ENV: 'production', METRICS_PORT: String(metricsPort) });
  });
  afterAll(async () => {
    await t.close();
    restoreEnv();
  });

  it('serves metrics on the internal listener only: the main port answers 404', async () => {
    const main = await get(t.url, '/metrics');
    expect(main.status).toBe(404);
    expect(JSON.parse(main.body).code).toBe('ROUTE.NOT_FOUND');
    expect(main.body).not.toContain('hookline_');

    const internal = `http://127.0.0.1:${metricsPort}`;
    const ok = await get(internal, '/metrics');
    expect(ok.status).toBe(200);
    expect(ok.headers['content-type']).toContain('text/plain');
    expect(ok.body).toContain('hookline_inbox_backlog');
    // Nothing else is served there.
    for (const path of ['/', '/health/live', '/docs', '/orders', '/metrics/../orders']) {
      const res = await get(internal, path);
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
      expect(res.headers['content-type']).toBe('application/problem+json');
    }
  });

  it('does not mount Swagger UI or the documents in production by default (404)', async () => {
    for (const path of ['/docs', '/docs/', '/docs/swagger-ui-init.js', '/docs-json', '/docs-yaml']) {
      for (const headers of [{}, { authorization: `Bearer ${PROD.ADMIN_API_KEYS}` }] as Record<string, string>[]) {
        const res = await get(t.url, path, headers);
        expect({ path, status: res.status }).toEqual({ path, status: 404 });
        expect(res.body).not.toContain('openapi');
      }
    }
  });

  it('closes the metrics listener when the app closes', async () => {
    const other = await freePort();
    const app = await createTestApp({ ...PROD, NODE_ENV: 'production', METRICS_PORT: String(other) });
    expect((await get(`http://127.0.0.1:${other}`, '/metrics')).status).toBe(200);
    await app.close();
    const refused = await new Promise<string>((resolve) => {
      const socket = connect(other, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');
  });
});

describe('hostile surfaces: development defaults', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('ignores X-Forwarded-Proto when no proxy is trusted: no HSTS, no upgrade-insecure-requests', async () => {
    for (const headers of [{}, { 'x-forwarded-proto': 'https' }] as Record<string, string>[]) {
      for (const path of ['/health/live', '/docs', '/nope', '/orders']) {
        const res = await get(t.url, path, headers);
        expect(res.headers['strict-transport-security']).toBeUndefined();
        expect(directive(res, 'upgrade-insecure-requests')).toBeUndefined();
        expect(directive(res, 'default-src')).toBe(`default-src 'self'`);
      }
    }
  });

  it('keeps /metrics open and Swagger UI public, with persistAuthorization, outside production', async () => {
    expect((await get(t.url, '/metrics')).status).toBe(200);
    expect((await get(t.url, '/docs')).status).toBe(200);
    expect((await get(t.url, '/docs/swagger-ui-init.js')).body).toMatch(/"persistAuthorization":\s*true/);
  });

  it('serves /ui pages under a CSP that runs no inline script, and the pages carry none', async () => {
    const order = await createOrder(t.url);
    const payment = await payOrder(t.url, order.id);
    const pages = [
      await get(t.url, `/ui/payments/${payment.id}`, { authorization: `Bearer ${SHOP_KEY}` }),
      await get(t.url, `/ui/payments/${randomUUID()}`, { authorization: `Bearer ${SHOP_KEY}` }),
      await get(t.url, `/ui/payments/${payment.id}`),
      await get(t.url, `/ui/webhook-endpoints/${randomUUID()}`, { authorization: `Bearer ${ADMIN_KEY}` }),
    ];
    expect(pages.map((p) => p.status)).toEqual([200, 404, 401, 404]);
    for (const page of pages) {
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
      const scriptSrc = directive(page, 'script-src');
      expect(scriptSrc).toBe(`script-src 'self'`);
      expect(directive(page, 'script-src-attr')).toBe(`script-src-attr 'none'`);
      expect(csp(page)).not.toContain('unsafe-eval');
      // No inline script without a nonce, no inline event handler, no javascript: URL.
      const scripts = page.body.match(/<script\b[^>]*>/gi) ?? [];
      expect(scripts.filter((s) => !/\bsrc=|\bnonce=/i.test(s))).toEqual([]);
      expect(page.body).not.toMatch(/<[^>]+\son[a-z]+\s*=/i);
      expect(page.body).not.toMatch(/javascript:/i);
    }
    expect(pages[0].body).toContain(payment.id);
  });
});
