// npm run soak [-- --payments 2000 --concurrency 20 --timeout 600 --keep]
//
// A soak test under chaos: starts its own stack from the built dist as child
// processes on free loopback ports — A: APP_ROLE=psp, B: APP_ROLE=api, C and D:
// APP_ROLE=worker — sharing a fresh PostgreSQL database (hookline_soak, dropped and
// created) and a fresh Redis prefix. It turns the PSP mock's chaos on (drops,
// duplicates, reordering, tampered signatures, declines), pays N orders through the
// API, SIGKILLs one worker about a third of the way through and starts a replacement,
// waits until every payment is final, then checks the invariants directly in
// PostgreSQL (and in the processes' /metrics) and prints them with figures.
//
// Exits non-zero when an invariant fails. Always stops its child processes (also on
// Ctrl-C and errors) and drops its database at the end unless --keep. Loopback only;
// bounded in count (--payments ≤ 20000) and time (--timeout seconds).
//
//   SOAK_DATABASE_URL  the database to (re)create  (default postgres://postgres@127.0.0.1:5432/hookline_soak)
//   REDIS_URL          Redis                       (default redis://127.0.0.1:6379)
// Child logs (JSON, level warn) go to a temporary directory printed at start.

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync } from 'node:fs';
import { freePort } from './lib/free-port.js';
import { sleep } from './lib/sleep.js';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { NODE_FLAGS } from '../src/node-flags.js';

const MAX_PAYMENTS = 20_000;
const CHAOS = {
  declineRate: 0.2,
  dropRate: 0.1,
  duplicateRate: 0.2,
  reorderRate: 0.2,
  tamperRate: 0.1,
  deliveryDelayMs: { min: 0, max: 200 },
};

// ---------- arguments ----------

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} must be a positive integer`);
  return value;
}
const N = arg('payments', 2000);
const CONCURRENCY = arg('concurrency', 20);
const TIMEOUT_S = arg('timeout', 600);
const KEEP = process.argv.includes('--keep');
if (N > MAX_PAYMENTS) throw new Error(`--payments is capped at ${MAX_PAYMENTS}`);

const DATABASE_URL = process.env.SOAK_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/hookline_soak';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
for (const url of [DATABASE_URL, REDIS_URL]) {
  const host = new URL(url).hostname;
  if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host) && !host.startsWith('127.')) {
    throw new Error(`${url} is not on this machine: the soak test only runs against loopback`);
  }
}
const DB_NAME = new URL(DATABASE_URL).pathname.slice(1);
if (!/^[a-z0-9_]+$/.test(DB_NAME) || !DB_NAME.includes('soak')) {
  throw new Error(`Refusing to drop and create database "${DB_NAME}": its name must contain "soak"`);
}

const RUN = randomBytes(4).toString('hex');
const REDIS_PREFIX = `hookline-soak-${RUN}`;
const SHOP_KEY = `sk_shop_soak_${randomBytes(12).toString('hex')}`;
const ADMIN_KEY = `sk_admin_soak_${randomBytes(12).toString('hex')}`;
const PSP_KEY = `sk_psp_soak_${randomBytes(12).toString('hex')}`;
const WEBHOOK_SECRET = `whsec_${randomBytes(24).toString('base64')}`;
// dist/scripts/soak.js → dist/src/main.js: the app of the same build as this script.
const MAIN = resolve(__dirname, '../src/main.js');
const LOG_DIR = mkdtempSync(join(tmpdir(), 'hookline-soak-'));
const started = Date.now();
const deadline = started + TIMEOUT_S * 1000;

const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
const log = (msg: string) => console.log(`[${elapsed().padStart(7)}] ${msg}`);

// ---------- child processes ----------

interface Child {
  name: string;
  role: string;
  port: number;
  url: string;
  proc: ChildProcess;
  exited: boolean;
}
const children: Child[] = [];

let pspUrl = '';
let apiUrl = '';

let stopRequested = false;

function start(name: string, role: string, port: number): Child {
  if (stopRequested) throw new Error(`not starting ${name}: the soak test is stopping`);
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    APP_ROLE: role,
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL,
    DB_MIGRATE_ON_BOOT: 'true',
    REDIS_URL,
    REDIS_PREFIX,
    PSP_BASE_URL: pspUrl,
    PUBLIC_BASE_URL: apiUrl,
    API_KEYS: SHOP_KEY,
    ADMIN_API_KEYS: ADMIN_KEY,
    PSP_API_KEY: PSP_KEY,
    PSP_WEBHOOK_SECRET: WEBHOOK_SECRET,
    WEBHOOK_DEADLINE_MS: '3000',
    PSP_DELIVERY_BACKOFF_MS: '500',
    INBOX_SWEEP_INTERVAL_MS: '2000',
    INBOX_SWEEP_STALE_MS: '10000',
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
  };
  const out = createWriteStream(join(LOG_DIR, `${name}.log`));
  const proc = spawn(process.execPath, [...NODE_FLAGS, MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout.pipe(out);
  proc.stderr.pipe(out);
  const child: Child = { name, role, port, url: `http://127.0.0.1:${port}`, proc, exited: false };
  proc.once('exit', () => {
    child.exited = true;
  });
  children.push(child);
  return child;
}

async function ready(child: Child, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (child.exited)
      throw new Error(`${child.name} (${child.role}) exited during start; see ${LOG_DIR}/${child.name}.log`);
    try {
      const res = await fetch(`${child.url}/health/ready`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > until) throw new Error(`${child.name} not ready after ${timeoutMs} ms`);
    await sleep(200);
  }
}

let stopping: Promise<void> | null = null;
function stopAll(): Promise<void> {
  stopRequested = true;
  stopping ??= (async () => {
    const alive = children.filter((c) => !c.exited);
    for (const c of alive) c.proc.kill('SIGTERM');
    const until = Date.now() + 10_000;
    while (alive.some((c) => !c.exited) && Date.now() < until) await sleep(100);
    for (const c of alive) if (!c.exited) c.proc.kill('SIGKILL');
  })();
  return stopping;
}

// ---------- database and Redis ----------

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const u = new URL(DATABASE_URL);
  u.pathname = '/postgres';
  const client = new pg.Client({ connectionString: u.toString() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
const dropDatabase = () => admin((c) => c.query(`DROP DATABASE IF EXISTS "${DB_NAME}" WITH (FORCE)`));

async function cleanRedis(): Promise<void> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${REDIS_PREFIX}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

// ---------- HTTP ----------

async function call<T>(
  base: string,
  key: string,
  method: string,
  path: string,
  body?: unknown,
  idempotencyKey?: string,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${key}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
      const text = await res.text();
      if (res.ok) return JSON.parse(text) as T;
      const retriable = res.status === 429 || res.status >= 500;
      if (!retriable || attempt >= 4 || !idempotencyKey) {
        throw new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 300)}`);
      }
      await sleep(Number(res.headers.get('retry-after') ?? 0) * 1000 || 500 * (attempt + 1));
    } catch (err) {
      if (attempt >= 4 || !idempotencyKey || (err as Error).message.includes(' answered ')) throw err;
      await sleep(500 * (attempt + 1));
    }
  }
}

async function metricsOf(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
}
function sumMetric(text: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const m of text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} ([0-9.e+]+)$`, 'gm'))) {
    if (Object.entries(labels).every(([k, v]) => m[1].includes(`${k}="${v}"`))) sum += Number(m[2]);
  }
  return sum;
}

async function pool<T>(items: T[], size: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(size, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i], i);
      }
    }),
  );
}

// ---------- the run ----------

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

const pct = (sorted: number[], p: number) =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
const fmtMs = (v: number) =>
  Number.isNaN(v) ? '–' : v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`;

async function main(): Promise<number> {
  console.log(`Hookline soak: ${N} payments, concurrency ${CONCURRENCY}, timeout ${TIMEOUT_S} s`);
  console.log(`Database ${DB_NAME}, Redis prefix ${REDIS_PREFIX}, child logs in ${LOG_DIR}`);
  await dropDatabase();
  await admin((c) => c.query(`CREATE DATABASE "${DB_NAME}"`));

  const [pA, pB, pC, pD, pE] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  pspUrl = `http://127.0.0.1:${pA}`;
  apiUrl = `http://127.0.0.1:${pB}`;
  const psp = start('A-psp', 'psp', pA);
  await ready(psp); // migrates the fresh database
  const api = start('B-api', 'api', pB);
  const workers = [start('C-worker', 'worker', pC), start('D-worker', 'worker', pD)];
  await Promise.all([api, ...workers].map((c) => ready(c)));
  log(`stack up: psp ${psp.url}, api ${api.url}, workers ${workers.map((w) => w.url).join(', ')}`);

  const chaos = await call<Record<string, unknown>>(psp.url, PSP_KEY, 'PUT', '/psp/v1/chaos', CHAOS);
  log(`chaos on: ${JSON.stringify(chaos)}`);

  const db = new pg.Client({ connectionString: DATABASE_URL });
  // Dropping the database on Ctrl-C ends this connection: not an error of the run.
  db.on('error', (err) => {
    if (!stopRequested) console.error(`soak: database connection lost: ${err.message}`);
  });
  await db.connect();
  try {
    // ---- create N orders and payments; kill a worker a third of the way through ----
    const loadStarted = Date.now();
    let created = 0;
    let failedCreates = 0;
    let killedAt: number | null = null;
    const replacement: Promise<void>[] = [];
    const killAfter = Math.max(1, Math.floor(N / 3));
    await pool(
      Array.from({ length: N }, (_, i) => i),
      CONCURRENCY,
      async (i) => {
        if (Date.now() > deadline || stopRequested) return;
        try {
          const order = await call<{ id: string }>(
            api.url,
            SHOP_KEY,
            'POST',
            '/orders',
            { currency: 'USD', items: [{ sku: `SOAK-${i}`, name: 'Soak item', quantity: 1, unitAmount: 1000 + i }] },
            `soak-${RUN}-order-${i}`,
          );
          await call(api.url, SHOP_KEY, 'POST', `/orders/${order.id}/payments`, {}, `soak-${RUN}-pay-${i}`);
          created++;
        } catch (err) {
          failedCreates++;
          if (failedCreates <= 5) log(`payment ${i} not created: ${(err as Error).message}`);
        }
        if (created + failedCreates === killAfter && killedAt === null && !stopRequested) {
          killedAt = Date.now();
          const victim = workers[0];
          victim.proc.kill('SIGKILL');
          log(`SIGKILL ${victim.name} (pid ${victim.proc.pid}) after ${killAfter} payments; starting a replacement`);
          const e = start('E-worker', 'worker', pE);
          // Awaited after the load: a replacement that cannot start fails the run, with cleanup.
          const up = ready(e).then(() => log(`replacement ${e.name} ready`));
          up.catch(() => undefined);
          replacement.push(up);
        }
      },
    );
    const loadS = (Date.now() - loadStarted) / 1000;
    log(
      `created ${created} payments in ${loadS.toFixed(1)} s (${(created / loadS).toFixed(1)}/s), ${failedCreates} failed`,
    );
    await Promise.all(replacement);

    // ---- wait until every PSP payment has settled and every shop payment is final ----
    let last = '';
    for (;;) {
      const [{ psp_open, shop_open, shop_total }] = (
        await db.query<{ psp_open: number; shop_open: number; shop_total: number }>(
          `SELECT (SELECT count(*) FROM psp_payments WHERE status = 'processing')::int AS psp_open,
                  (SELECT count(*) FROM payments WHERE status = 'processing')::int AS shop_open,
                  (SELECT count(*) FROM payments)::int AS shop_total`,
        )
      ).rows;
      if (psp_open === 0 && shop_open === 0) {
        log(`all final: ${shop_total} shop payments`);
        break;
      }
      const now = `PSP processing ${psp_open}, shop processing ${shop_open}`;
      if (now !== last) {
        log(`waiting: ${now}`);
        last = now;
      }
      if (stopRequested) throw new Error('stopped');
      if (Date.now() > deadline) {
        log(`timeout after ${TIMEOUT_S} s: ${now}`);
        break;
      }
      await sleep(1000);
    }
    const flowS = (Date.now() - loadStarted) / 1000;
    // Late deliveries (retries, duplicates) still in flight change no state, but let them land before counting.
    await sleep(3000);

    // ---- invariants ----
    const checks: Check[] = [];
    const q = async <T>(sql: string, params: unknown[] = []) => (await db.query(sql, params)).rows as T[];

    const [counts] = await q<{ payments: number; orders: number; psp: number; open: number; psp_open: number }>(
      `SELECT (SELECT count(*) FROM payments)::int AS payments, (SELECT count(*) FROM orders)::int AS orders,
              (SELECT count(*) FROM psp_payments)::int AS psp,
              (SELECT count(*) FROM payments WHERE status = 'processing')::int AS open,
              (SELECT count(*) FROM psp_payments WHERE status = 'processing')::int AS psp_open`,
    );
    checks.push({
      name: 'every payment created and final',
      ok:
        counts.payments === N && counts.psp === N && counts.open === 0 && counts.psp_open === 0 && failedCreates === 0,
      detail: `${counts.payments}/${N} shop payments (${failedCreates} creations failed), ${counts.psp} PSP payments; still processing: shop ${counts.open}, PSP ${counts.psp_open}`,
    });

    const [match] = await q<{ settled: number; completed: number; failed: number; mismatched: number }>(
      `SELECT count(*)::int AS settled,
              count(*) FILTER (WHERE pp.status = 'completed')::int AS completed,
              count(*) FILTER (WHERE pp.status = 'failed')::int AS failed,
              count(*) FILTER (WHERE p.id IS NULL OR o.id IS NULL
                 OR (pp.status = 'completed' AND (p.status <> 'succeeded' OR o.status <> 'paid'))
                 OR (pp.status = 'failed' AND (p.status <> 'failed' OR o.status <> 'payment_failed')))::int AS mismatched
         FROM psp_payments pp
         LEFT JOIN payments p ON p.psp_payment_id = pp.id
         LEFT JOIN orders o ON o.id = p.order_id
        WHERE pp.status IN ('completed', 'failed')`,
    );
    checks.push({
      name: 'settled PSP payment ⇒ shop payment and order in the matching final state',
      ok: match.mismatched === 0 && match.settled === counts.psp,
      detail: `${match.settled} settled (${match.completed} completed → succeeded/paid, ${match.failed} failed → failed/payment_failed), ${match.mismatched} mismatched`,
    });

    const [resolved] = await q<{ total: number; not_one: number; payments: number }>(
      `SELECT (SELECT count(*) FROM payment_timeline WHERE type = 'resolved')::int AS total,
              (SELECT count(*) FROM payments)::int AS payments,
              (SELECT count(*) FROM (
                 SELECT p.id FROM payments p LEFT JOIN payment_timeline t ON t.payment_id = p.id AND t.type = 'resolved'
                  GROUP BY p.id HAVING count(t.id) <> 1) x)::int AS not_one`,
    );
    checks.push({
      name: 'no state change applied twice: one `resolved` entry per payment',
      ok: resolved.not_one === 0 && resolved.total === resolved.payments,
      detail: `${resolved.total} resolved entries for ${resolved.payments} payments; ${resolved.not_one} payments with ≠ 1`,
    });

    const [inbox] = await q<{ rows: number; dup: number; foreign: number; applied_twice: number }>(
      `SELECT (SELECT count(*) FROM webhook_inbox)::int AS rows,
              (SELECT count(*) FROM (SELECT 1 FROM webhook_inbox GROUP BY source, event_id HAVING count(*) > 1) x)::int AS dup,
              (SELECT count(*) FROM webhook_inbox i LEFT JOIN psp_events e ON e.id = i.event_id
                WHERE e.id IS NULL OR e.payload <> i.payload)::int AS foreign,
              (SELECT count(*) FROM (SELECT payment_id FROM payment_timeline WHERE type = 'order_updated'
                GROUP BY payment_id HAVING count(*) > 1) x)::int AS applied_twice`,
    );
    checks.push({
      name: 'inbox rows unique per event; orders moved once',
      ok: inbox.dup === 0 && inbox.applied_twice === 0,
      detail: `${inbox.rows} inbox rows, ${inbox.dup} duplicate (source, event_id), ${inbox.applied_twice} payments with > 1 order update`,
    });

    const pspMetrics = await metricsOf(psp.url);
    const apiMetrics = await metricsOf(api.url);
    const delivery = (outcome: string) => sumMetric(pspMetrics, 'hookline_psp_webhook_deliveries_total', { outcome });
    const tampered = delivery('tampered');
    const tamperedAccepted = delivery('tampered_accepted');
    const received = (labels: Record<string, string>) =>
      sumMetric(apiMetrics, 'hookline_webhooks_received_total', labels);
    const sigInvalid = received({ outcome: 'rejected', reason: 'signature_invalid' });
    checks.push({
      name: 'every tampered delivery rejected, none stored',
      ok: tamperedAccepted === 0 && sigInvalid >= tampered && inbox.foreign === 0,
      detail:
        `PSP sent ${tampered} tampered attempts (${tamperedAccepted} accepted); shop rejected ${sigInvalid} as signature_invalid; ` +
        `${inbox.foreign} inbox rows whose event is not in psp_events with the same payload`,
    });

    // ---- figures ----
    const lags = (
      await q<{ ms: number }>(
        `SELECT extract(epoch FROM (coalesce(CASE WHEN pp.status = 'completed' THEN o.paid_at END, p.resolved_at) - pp.settled_at)) * 1000 AS ms
           FROM psp_payments pp JOIN payments p ON p.psp_payment_id = pp.id JOIN orders o ON o.id = p.order_id
          WHERE pp.settled_at IS NOT NULL AND p.status <> 'processing'`,
      )
    )
      .map((r) => Number(r.ms))
      .sort((a, b) => a - b);
    const via = await q<{ resolved_via: string; n: number }>(
      `SELECT coalesce(resolved_via, '(none)') AS resolved_via, count(*)::int AS n FROM payments GROUP BY 1 ORDER BY 2 DESC`,
    );
    const events = await q<{ delivery_status: string; n: number }>(
      `SELECT delivery_status, count(*)::int AS n FROM psp_events GROUP BY 1 ORDER BY 2 DESC`,
    );

    console.log('\nChaos, as the PSP counted it (hookline_psp_webhook_deliveries_total by outcome):');
    console.log(
      '  ' +
        ['delivered', 'failed', 'dropped', 'duplicated', 'reordered', 'delayed', 'tampered', 'tampered_accepted']
          .map((o) => `${o} ${delivery(o)}`)
          .join(' · '),
    );
    console.log(`  psp_events by delivery_status: ${events.map((e) => `${e.delivery_status} ${e.n}`).join(' · ')}`);
    console.log('Shop receiver (hookline_webhooks_received_total):');
    console.log(
      `  accepted ${received({ outcome: 'accepted' })} · duplicate ${received({ outcome: 'duplicate' })} · ` +
        `rejected ${received({ outcome: 'rejected' })} (signature_invalid ${sigInvalid})`,
    );
    console.log(`Worker killed with SIGKILL at ${killedAt ? `${((killedAt - started) / 1000).toFixed(1)} s` : '–'}`);
    console.log(`Resolved via: ${via.map((v) => `${v.resolved_via} ${v.n}`).join(' · ')}`);
    console.log(
      `PSP settled → order final: p50 ${fmtMs(pct(lags, 50))} · p95 ${fmtMs(pct(lags, 95))} · max ${fmtMs(lags.at(-1) ?? NaN)} (${lags.length} payments)`,
    );
    console.log(
      `Duration: ${flowS.toFixed(1)} s from first payment to all final (creation ${loadS.toFixed(1)} s); ` +
        `${(counts.payments / flowS).toFixed(1)} payments/s end to end`,
    );

    console.log('\nInvariants:');
    for (const c of checks) console.log(`  ${c.ok ? 'PASS' : 'FAIL'}  ${c.name}\n        ${c.detail}`);
    const failed = checks.filter((c) => !c.ok).length;
    console.log(failed === 0 ? '\nAll invariants hold.' : `\n${failed} invariant(s) FAILED (child logs: ${LOG_DIR}).`);
    return failed === 0 ? 0 : 1;
  } finally {
    await db.end();
  }
}

let cleaned: Promise<void> | null = null;
function cleanup(): Promise<void> {
  cleaned ??= (async () => {
    await stopAll();
    await cleanRedis().catch((err: Error) => console.error(`could not clean Redis: ${err.message}`));
    if (KEEP) console.log(`Kept database ${DB_NAME}`);
    else await dropDatabase().catch((err: Error) => console.error(`could not drop ${DB_NAME}: ${err.message}`));
  })();
  return cleaned;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping the stack`);
    void cleanup().finally(() => process.exit(130));
  });
}
process.once('unhandledRejection', (err) => {
  console.error(`soak failed: ${(err as Error)?.message ?? String(err)}`);
  void cleanup().finally(() => process.exit(1));
});
// A hard stop (e.g. a crash in the harness itself) still kills the children.
process.once('exit', () => {
  for (const c of children) if (!c.exited) c.proc.kill('SIGKILL');
});

const hardStop = setTimeout(
  () => {
    console.error(`soak: exceeded ${TIMEOUT_S} s + 120 s, stopping`);
    void cleanup().finally(() => process.exit(2));
  },
  (TIMEOUT_S + 120) * 1000,
);
hardStop.unref();

main()
  .then(async (code) => {
    await cleanup();
    process.exit(code);
  })
  .catch(async (err: Error) => {
    console.error(`soak failed: ${err.message}`);
    await cleanup();
    process.exit(1);
  });
