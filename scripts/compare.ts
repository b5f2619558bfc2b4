// npm run compare [-- --payments 200 --concurrency 20 --timeout 180] [-- --psp stripe]
//
// Runs one workload (N payments, settle delays from the PSP's range) against a running
// Hookline through four ways of learning the result, and measures each:
//   webhook · webhook with 30 % of deliveries dropped (fallback polling on) ·
//   short_polling · long_polling
// Prints a table, and writes reports/comparison.md and reports/comparison.svg.
// Loopback only (HOOKLINE_URL must point at this machine); bounded in count and time.
// --psp stripe: the Hookline runs with PSP_PROVIDER=stripe against the PSP mock's Stripe
// dialect (docs/using-stripe.md); Stripe has no long polling, so that scenario is left out.
//
//   HOOKLINE_URL  the shop (and PSP mock) base URL     (default http://127.0.0.1:3000)
//   PSP_URL       the PSP mock's base URL              (default HOOKLINE_URL)
//   HOOKLINE_CA_FILE  PEM file of a CA to trust besides Node's store (https:// URLs signed by a local CA)
//   API_KEY       a shop key                           (default the development key)
//   PSP_API_KEY   the PSP key                          (default the development key)
//   DATABASE_URL  the shop's database, read-only here  (default the development database)
//
// It observes without loading what it measures: no /metrics scrape loop and no request
// per payment while they settle. While a strategy runs it asks PostgreSQL one count a
// second (how many of its payments are final); when all are, it reads the payments and
// their timelines once. The lags, the PSP requests per payment (the PSP acceptance and
// every poll the timeline records), the polls that found nothing new and the peak of
// long polls held at the PSP at once (each poll's interval: its timeline time minus its
// latency) all come from that one read.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { sleep } from './lib/sleep.js';
import { trustCaFile } from './lib/trust-ca-file.js';

trustCaFile();

const BASE = (process.env.HOOKLINE_URL ?? 'http://127.0.0.1:3000').replace(/\/+$/, '');
const PSP = (process.env.PSP_URL ?? BASE).replace(/\/+$/, '');
const API_KEY = process.env.API_KEY ?? 'sk_shop_dev_0123456789abcdef';
const PSP_KEY = process.env.PSP_API_KEY ?? 'sk_psp_dev_0123456789abcdef';
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/hookline';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} must be a positive integer`);
  return value;
}
const N = arg('payments', 200);
const CONCURRENCY = arg('concurrency', 20);
const TIMEOUT_S = arg('timeout', 180);
if (N > 5000) throw new Error('--payments is capped at 5000');
for (const url of [BASE, PSP, DATABASE_URL]) {
  const host = new URL(url).hostname;
  if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host) && !host.startsWith('127.')) {
    throw new Error(`${url} is not on this machine: the comparison only runs against loopback`);
  }
}

interface Scenario {
  name: string;
  strategy: 'webhook' | 'short_polling' | 'long_polling';
  dropRate: number;
}
const PSP_NAME = process.argv.includes('--psp') ? process.argv[process.argv.indexOf('--psp') + 1] : 'mock';
if (PSP_NAME !== 'mock' && PSP_NAME !== 'stripe') throw new Error('--psp must be mock or stripe');
const SCENARIOS: Scenario[] = [
  { name: 'webhook', strategy: 'webhook', dropRate: 0 },
  { name: 'webhook, 30 % dropped + fallback', strategy: 'webhook', dropRate: 0.3 },
  { name: 'short_polling', strategy: 'short_polling', dropRate: 0 },
  // Stripe has no long polling (the shop refuses it with 422 PAYMENT.UNSUPPORTED_BY_PSP).
  ...(PSP_NAME === 'stripe' ? [] : [{ name: 'long_polling', strategy: 'long_polling', dropRate: 0 } as const]),
];

interface TimelineEntry {
  type: string;
  at: string;
  detail: Record<string, unknown>;
}
interface Payment {
  id: string;
  status: string;
  resolvedVia: string | null;
  timeline: TimelineEntry[];
}

async function call<T>(base: string, key: string, method: string, path: string, body?: unknown): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (res.ok) return JSON.parse(text) as T;
    if (res.status === 429 && attempt < 5) {
      await sleep(Number(res.headers.get('retry-after') ?? 1) * 1000);
      continue;
    }
    throw new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 300)}`);
  }
}
const shop = <T>(method: string, path: string, body?: unknown) => call<T>(BASE, API_KEY, method, path, body);
const psp = <T>(method: string, path: string, body?: unknown) => call<T>(PSP, PSP_KEY, method, path, body);

async function pool<T, R>(items: T[], size: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(size, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}

interface Result {
  scenario: Scenario;
  resolved: number;
  byVia: Record<string, number>;
  lagsMs: number[];
  pspRequestsPerPayment: number;
  peakHeld: number;
  emptyPolls: number;
  wallS: number;
}

/** Until every one of these payments is final, or the deadline: one count a second. */
async function untilFinal(db: pg.Client, ids: string[], deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM payments WHERE id = ANY($1::uuid[]) AND status <> 'processing'`,
      [ids],
    );
    if (rows[0].n >= ids.length) return;
    await sleep(1000);
  }
}

/** The payments and their timelines, in one read once the strategy is over. */
async function readPayments(db: pg.Client, ids: string[]): Promise<Payment[]> {
  const { rows } = await db.query<{
    id: string;
    status: string;
    resolved_via: string | null;
    timeline: TimelineEntry[] | null;
  }>(
    `SELECT p.id, p.status, p.resolved_via,
            (SELECT json_agg(json_build_object('type', t.type, 'at', t.at, 'detail', t.detail) ORDER BY t.id)
               FROM payment_timeline t WHERE t.payment_id = p.id) AS timeline
       FROM payments p WHERE p.id = ANY($1::uuid[])`,
    [ids],
  );
  return rows.map((r) => ({ id: r.id, status: r.status, resolvedVia: r.resolved_via, timeline: r.timeline ?? [] }));
}

/** The most polls held open at the PSP at once, from each poll's interval [at − latency, at]. */
function peakConcurrent(intervals: [number, number][]): number {
  const edges = intervals.flatMap(([a, b]): [number, number][] => [
    [a, 1],
    [b, -1],
  ]);
  edges.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let open = 0;
  let peak = 0;
  for (const [, d] of edges) peak = Math.max(peak, (open += d));
  return peak;
}

async function run(db: pg.Client, scenario: Scenario): Promise<Result> {
  await psp('PUT', '/psp/v1/chaos', { dropRate: scenario.dropRate, declineRate: 0 });
  const started = Date.now();
  const paymentIds = await pool(
    Array.from({ length: N }, (_, i) => i),
    CONCURRENCY,
    async (i) => {
      const order = await shop<{ id: string }>('POST', '/orders', {
        currency: 'USD',
        items: [{ sku: `CMP-${i}`, name: 'Comparison item', quantity: 1, unitAmount: 1000 + i }],
      });
      const payment = await shop<{ id: string }>('POST', `/orders/${order.id}/payments`, {
        strategy: scenario.strategy,
      });
      return payment.id;
    },
  );
  await untilFinal(db, paymentIds, started + TIMEOUT_S * 1000);
  const wallS = (Date.now() - started) / 1000;
  const payments = await readPayments(db, paymentIds);

  const lagsMs: number[] = [];
  const byVia: Record<string, number> = {};
  const longPolls: [number, number][] = [];
  let emptyPolls = 0;
  let pspRequests = 0;
  let resolved = 0;
  for (const p of payments) {
    const timeline = p.timeline;
    // Polls only: reconciliation's results are recorded as poll_result too, with an eventId and no poll number.
    const polls = timeline.filter((e) => e.type === 'poll_result' && typeof e.detail.poll === 'number');
    pspRequests += timeline.filter((e) => e.type === 'psp_accepted').length + polls.length;
    if (scenario.strategy === 'long_polling') {
      for (const e of polls) {
        const end = Date.parse(e.at);
        longPolls.push([end - Number(e.detail.latencyMs ?? 0), end]);
      }
    }
    if (p.status === 'processing') continue;
    resolved++;
    byVia[p.resolvedVia ?? '?'] = (byVia[p.resolvedVia ?? '?'] ?? 0) + 1;
    emptyPolls += polls.filter((e) => e.detail.found === 'nothing new').length;
    const settledAt = timeline.map((e) => e.detail.pspSettledAt).find((v): v is string => typeof v === 'string');
    const orderFinal = timeline.find((e) => e.type === 'order_updated');
    if (settledAt && orderFinal) lagsMs.push(Date.parse(orderFinal.at) - Date.parse(settledAt));
  }
  return {
    scenario,
    resolved,
    byVia,
    lagsMs: lagsMs.sort((a, b) => a - b),
    pspRequestsPerPayment: pspRequests / N,
    peakHeld: peakConcurrent(longPolls),
    emptyPolls,
    wallS,
  };
}

const pct = (sorted: number[], p: number) =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
const ms = (v: number) => (Number.isNaN(v) ? '–' : v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`);

function table(results: Result[]): string {
  const rows = [
    [
      'strategy',
      'resolved / N',
      'lag p50 · p95 · max (PSP settled → order final)',
      'PSP requests per payment',
      'peak connections held at the PSP',
      'polls that found nothing new',
    ],
    ...results.map((r) => [
      r.scenario.name,
      `${r.resolved} / ${N}` +
        (Object.keys(r.byVia).length > 1
          ? ` (${Object.entries(r.byVia)
              .map(([via, n]) => `${n} ${via}`)
              .join(', ')})`
          : ''),
      `${ms(pct(r.lagsMs, 50))} · ${ms(pct(r.lagsMs, 95))} · ${ms(r.lagsMs.at(-1) ?? NaN)}`,
      r.pspRequestsPerPayment.toFixed(2),
      String(r.peakHeld),
      `${r.emptyPolls} (${(r.emptyPolls / N).toFixed(2)} per payment)`,
    ]),
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  const line = (row: string[]) => `| ${row.map((cell, c) => cell.padEnd(widths[c])).join(' | ')} |`;
  return [line(rows[0]), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

function svg(results: Result[]): string {
  const width = 900;
  const rowH = 70;
  const left = 250;
  const right = 30;
  const top = 40;
  const height = top + rowH * results.length + 50;
  const maxLag = Math.max(1, ...results.flatMap((r) => r.lagsMs));
  const x = (v: number) => left + (v / maxLag) * (width - left - right);
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="20" font-size="14" font-weight="bold">Lag from PSP settled to order final, per payment (N = ${N})</text>`,
  ];
  results.forEach((r, i) => {
    const cy = top + rowH * i + rowH / 2;
    parts.push(`<text x="10" y="${cy + 4}">${esc(r.scenario.name)}</text>`);
    if (r.lagsMs.length === 0) return;
    const [p25, p50, p75] = [25, 50, 75].map((p) => pct(r.lagsMs, p));
    parts.push(
      `<line x1="${x(r.lagsMs[0])}" x2="${x(r.lagsMs.at(-1)!)}" y1="${cy}" y2="${cy}" stroke="#888"/>`,
      `<rect x="${x(p25)}" y="${cy - 14}" width="${Math.max(1, x(p75) - x(p25))}" height="28" fill="#cfe3ff" stroke="#3b6fb6"/>`,
      `<line x1="${x(p50)}" x2="${x(p50)}" y1="${cy - 14}" y2="${cy + 14}" stroke="#1d3f73" stroke-width="2"/>`,
    );
    r.lagsMs.forEach((v, j) => {
      const jitter = ((j * 7919) % 21) - 10;
      parts.push(`<circle cx="${x(v).toFixed(1)}" cy="${cy + jitter}" r="1.6" fill="#d9480f" fill-opacity="0.6"/>`);
    });
  });
  const axisY = top + rowH * results.length + 10;
  parts.push(`<line x1="${left}" x2="${width - right}" y1="${axisY}" y2="${axisY}" stroke="black"/>`);
  for (let k = 0; k <= 5; k++) {
    const v = (maxLag * k) / 5;
    parts.push(
      `<line x1="${x(v)}" x2="${x(v)}" y1="${axisY}" y2="${axisY + 5}" stroke="black"/>`,
      `<text x="${x(v)}" y="${axisY + 18}" text-anchor="middle">${ms(v)}</text>`,
    );
  }
  parts.push(
    `<text x="${left}" y="${height - 8}" fill="#555">box: p25–p75, bar: median, line: min–max, dots: payments</text>`,
    '</svg>',
  );
  return parts.join('\n');
}

async function main(): Promise<void> {
  const chaosBefore = await psp<Record<string, unknown>>('GET', '/psp/v1/chaos');
  console.log(
    `Comparing ${SCENARIOS.length} strategies on ${N} payments each against ${BASE} (PSP ${PSP_NAME === 'stripe' ? "mock's Stripe dialect" : 'mock'} at ${PSP})`,
  );
  console.log(`PSP settle delay ${JSON.stringify(chaosBefore.settleDelayMs)} ms\n`);
  const results: Result[] = [];
  const db = new pg.Client({ connectionString: DATABASE_URL, application_name: 'compare' });
  await db.connect();
  try {
    for (const scenario of SCENARIOS) {
      process.stdout.write(`  ${scenario.name} … `);
      const r = await run(db, scenario);
      results.push(r);
      console.log(`${r.resolved}/${N} resolved in ${r.wallS.toFixed(1)} s`);
    }
  } finally {
    await db.end();
    await psp('PUT', '/psp/v1/chaos', { dropRate: chaosBefore.dropRate, declineRate: chaosBefore.declineRate });
  }
  const md = table(results);
  console.log(`\n${md}\n`);
  const dir = join(process.cwd(), 'reports');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'comparison.md'),
    `# Webhooks vs polling, measured\n\n${new Date().toISOString()} · N = ${N} payments per strategy · PSP ${PSP_NAME} · ` +
      `PSP settle delay ${JSON.stringify(chaosBefore.settleDelayMs)} ms · ${BASE}\n\n${md}\n\n![lag](comparison.svg)\n`,
  );
  writeFileSync(join(dir, 'comparison.svg'), svg(results));
  console.log('Wrote reports/comparison.md and reports/comparison.svg');
  if (results.some((r) => r.resolved < N)) process.exitCode = 1;
}

main().catch((err: Error) => {
  console.error(`compare failed: ${err.message}`);
  process.exit(1);
});
