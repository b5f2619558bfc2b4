// One scenario on one stack: N payments of one strategy, created at a bounded concurrency,
// then — once PostgreSQL says every one is final (one count a second) — one read of the
// payments with their timelines, of the PSP's delivery attempts, of /proc and of /metrics.

import pg from 'pg';
import { sleep } from '../lib/sleep.js';
import { POLL_CONCURRENCY } from '../../src/payments/polling/payment-poll.processor.js';
import { snapshot, usage, type Usage } from './observe.js';
import type { Stack } from './stack.js';
import type { LagSample } from './sweep-model.js';

export interface Scenario {
  name: string;
  strategy: 'webhook' | 'short_polling' | 'long_polling' | 'thin_webhook';
  dropRate: number;
}

export const SCENARIOS: Scenario[] = [
  { name: 'webhook', strategy: 'webhook', dropRate: 0 },
  { name: 'webhook, 30 % dropped + fallback', strategy: 'webhook', dropRate: 0.3 },
  { name: 'short_polling', strategy: 'short_polling', dropRate: 0 },
  { name: 'long_polling', strategy: 'long_polling', dropRate: 0 },
  { name: 'thin webhook + fetch', strategy: 'thin_webhook', dropRate: 0 },
];

export interface Workload {
  payments: number;
  concurrency: number;
  timeoutS: number;
  settleDelayMs: { min: number; max: number };
  /** Open loop: start a payment every 1/ratePerS s (payments/ratePerS s in all) instead of `concurrency` at a time. */
  ratePerS?: number;
  /** The shop's SHORT_POLL_INTERVAL_MS: given, short-poll-resolved payments yield lag samples (sweep-model.ts). */
  shortPollIntervalMs?: number;
  /** How often PostgreSQL is asked whether every payment is final (default 1000 ms). */
  checkEveryMs?: number;
}

/** Per payment, for one role (the PSP or the shop). */
export interface RoleLoad {
  received: number;
  sent: number;
  bytesIn: number;
  bytesOut: number;
  /** null when the role shares its process with the other (topology `single`). */
  cpuMs: number | null;
}

export interface Result {
  scenario: Scenario;
  topology: Stack['topology'];
  n: number;
  resolved: number;
  byVia: Record<string, number>;
  lagsMs: number[];
  psp: RoleLoad;
  shop: RoleLoad & { webhooksReceived: number; clientRequests: number };
  /** CPU of the one process of topology `single` (PSP and shop together), per payment. */
  sharedCpuMs: number | null;
  /** The most shop → PSP requests in flight at once (polls held included), and the most deliveries in flight at the shop. */
  peakAtPsp: number;
  peakAtShop: number;
  /** What bounded peakAtPsp when it reached it: the pool or the poll queue's concurrency. */
  cappedBy: string | null;
  emptyPolls: number;
  deliveryAttempts: number;
  /** Polls the shop made per payment (fallback, short and long, final ones included). */
  polls: number;
  /** Short-poll-resolved payments' lag split at the poll that found them (with Workload.shortPollIntervalMs). */
  lagSamples: LagSample[];
  wallS: number;
}

export interface TimelineEntry {
  type: string;
  at: string;
  detail: Record<string, unknown>;
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

/** The most intervals [start, end] open at once. */
export function peakConcurrent(intervals: [number, number][]): number {
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

export async function setChaos(stack: Stack, body: Record<string, unknown>): Promise<void> {
  await call(stack.pspUrl, stack.pspKey, 'PUT', '/psp/v1/chaos', body);
}

export async function runScenario(
  stack: Stack,
  db: pg.Client,
  scenario: Scenario,
  w: Workload,
  /** false: the caller set the PSP's chaos already (scenarios run side by side, as the warm-up does). */
  chaos = true,
): Promise<Result> {
  if (chaos) await setChaos(stack, { dropRate: scenario.dropRate, declineRate: 0, settleDelayMs: w.settleDelayMs });
  const before = await snapshot(stack);
  const started = Date.now();
  const startedAt = new Date(started);
  const ids = await pool(
    Array.from({ length: w.payments }, (_, i) => i),
    w.ratePerS ? w.payments : w.concurrency,
    async (i) => {
      if (w.ratePerS) await sleep(started + (i * 1000) / w.ratePerS - Date.now());
      const order = await call<{ id: string }>(stack.shopUrl, stack.apiKey, 'POST', '/orders', {
        currency: 'USD',
        items: [{ sku: `CMP-${i}`, name: 'Comparison item', quantity: 1, unitAmount: 1000 + i }],
      });
      const payment = await call<{ id: string }>(stack.shopUrl, stack.apiKey, 'POST', `/orders/${order.id}/payments`, {
        strategy: scenario.strategy,
      });
      return payment.id;
    },
  );
  const deadline = started + w.timeoutS * 1000;
  while (Date.now() < deadline) {
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM payments WHERE id = ANY($1::uuid[]) AND status <> 'processing'`,
      [ids],
    );
    if (rows[0].n >= ids.length) break;
    await sleep(w.checkEveryMs ?? 1000);
  }
  const wallS = (Date.now() - started) / 1000;
  const after = await snapshot(stack);

  const { rows: payments } = await db.query<{
    status: string;
    resolved_via: string | null;
    timeline: TimelineEntry[] | null;
  }>(
    `SELECT p.status, p.resolved_via,
            (SELECT json_agg(json_build_object('type', t.type, 'at', t.at, 'detail', t.detail) ORDER BY t.id)
               FROM payment_timeline t WHERE t.payment_id = p.id) AS timeline
       FROM payments p WHERE p.id = ANY($1::uuid[])`,
    [ids],
  );
  // The PSP's deliveries of this scenario (the database is the run's own; scenarios follow one another).
  const { rows: attempts } = await db.query<{ started: number; duration_ms: number }>(
    `SELECT extract(epoch FROM a.started_at) * 1000 AS started, a.duration_ms
       FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id
       JOIN webhook_endpoints e ON e.id = d.endpoint_id
      WHERE e.owner = 'psp' AND a.started_at >= $1`,
    [startedAt],
  );

  const lagsMs: number[] = [];
  const byVia: Record<string, number> = {};
  const atPsp: [number, number][] = [];
  const lagSamples: LagSample[] = [];
  let emptyPolls = 0;
  let polls = 0;
  let resolved = 0;
  for (const p of payments) {
    const timeline = p.timeline ?? [];
    for (const e of timeline) {
      const polled = e.type === 'poll_result' && typeof e.detail.poll === 'number';
      if (!polled && e.type !== 'psp_accepted') continue;
      const end = Date.parse(e.at);
      atPsp.push([end - Number(e.detail.latencyMs ?? 0), end]);
      if (polled) polls++;
      if (polled && e.detail.found === 'nothing new') emptyPolls++;
    }
    if (p.status === 'processing') continue;
    resolved++;
    byVia[p.resolved_via ?? '?'] = (byVia[p.resolved_via ?? '?'] ?? 0) + 1;
    const settledAt = timeline.map((e) => e.detail.pspSettledAt).find((v): v is string => typeof v === 'string');
    const orderFinal = timeline.find((e) => e.type === 'order_updated');
    if (settledAt && orderFinal) lagsMs.push(Date.parse(orderFinal.at) - Date.parse(settledAt));
    if (settledAt && orderFinal && w.shortPollIntervalMs && p.resolved_via === 'short_poll') {
      const sample = lagSample(timeline, Date.parse(settledAt), Date.parse(orderFinal.at), w.shortPollIntervalMs);
      if (sample) lagSamples.push(sample);
    }
  }

  const n = w.payments;
  const pspUse = usage(before, after, stack.psp);
  const shopUse = usage(before, after, stack.shop);
  const single = stack.topology === 'single';
  const role = (u: Usage, received: string[], sent: string[]): RoleLoad => ({
    received: received.reduce((a, k) => a + u.requests(k), 0) / n,
    sent: sent.reduce((a, k) => a + u.requests(k), 0) / n,
    bytesIn: [...received.map((k) => `${k}:in`), ...sent.map((k) => `${k}:in`)].reduce((a, k) => a + u.bytes(k), 0) / n,
    bytesOut:
      [...received.map((k) => `${k}:out`), ...sent.map((k) => `${k}:out`)].reduce((a, k) => a + u.bytes(k), 0) / n,
    cpuMs: single ? null : u.cpuMs / n,
  });
  const peakAtPsp = peakConcurrent(atPsp);
  const caps = [
    [stack.pspClientConnections, `the shop's PSP client pool (${stack.pspClientConnections})`],
    [POLL_CONCURRENCY, `the poll queue's concurrency (${POLL_CONCURRENCY})`],
  ] as const;
  return {
    scenario,
    topology: stack.topology,
    n,
    resolved,
    byVia,
    lagsMs: lagsMs.sort((a, b) => a - b),
    psp: role(pspUse, ['server:psp'], ['client:webhooks']),
    shop: {
      ...role(shopUse, ['server:webhooks', 'server:shop'], ['client:psp']),
      webhooksReceived: shopUse.requests('server:webhooks') / n,
      clientRequests: shopUse.requests('server:shop') / n,
    },
    sharedCpuMs: single ? shopUse.cpuMs / n : null,
    peakAtPsp,
    peakAtShop: peakConcurrent(attempts.map((a) => [Number(a.started), Number(a.started) + a.duration_ms])),
    cappedBy: caps.find(([cap]) => peakAtPsp >= cap)?.[1] ?? null,
    emptyPolls,
    deliveryAttempts: attempts.length,
    polls: polls / n,
    lagSamples,
    wallS,
  };
}

/**
 * A short-poll-resolved payment's lag split where the poll that found it fell due: the
 * previous poll's entry (or the payment's creation, for the first) plus the interval
 * (src/payments/polling/payment-polling.service.ts schedules the next poll so).
 */
export function lagSample(
  timeline: TimelineEntry[],
  settledAt: number,
  finalAt: number,
  intervalMs: number,
): LagSample | null {
  const polls = timeline.filter((e) => e.type === 'poll_result' && typeof e.detail.poll === 'number');
  const created = timeline.find((e) => e.type === 'created');
  if (polls.length === 0 || !created) return null;
  const previous = polls.length >= 2 ? polls[polls.length - 2] : created;
  const due = Date.parse(previous.at) + intervalMs;
  const waitMs = Math.max(0, due - settledAt);
  // Rounded: the run's record (docs/compare/latest.json) keeps every sample.
  return {
    u: Math.round(Math.min(1, waitMs / intervalMs) * 1e4) / 1e4,
    workMs: Math.round(Math.max(0, finalAt - Math.max(due, settledAt))),
  };
}
