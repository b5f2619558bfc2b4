// Scenario webhook-lag, issue 22 target 1: the whole webhook path through the real PSP
// mock. Orders and their payments are seeded as the shop leaves them before its PSP call;
// the bench then makes each payment at the PSP mock's API exactly as the shop does
// (POST /psp/v1/payments with the shop's callback_url and the ids in metadata) at a fixed
// rate. The PSP mock settles each one after its own settle delay and delivers the signed
// webhook through the outbound engine; the shop receives, stores, queues and applies it.
// Lag = the PSP's settled_at → the order's paid_at. Run at 10 and 100 payments/s, with
// the PSP mock, the shop API and the worker as three processes and as one `all` process.
// Stage medians come from the rows the path keeps: settled (psp_payments.settled_at) →
// delivery started (the first webhook_attempts.started_at) → received (inbox received_at)
// → stored and queued (inbox queued_at: the now() of the INSERT that stored it, which also
// marks it queued) → applied (payments.resolved_at) → order paid (orders.paid_at).

import { randomUUID } from 'node:crypto';
import { sleep } from '../../lib/sleep.js';
import { median, target, type BenchContext, type Scenario } from '../lib/report.js';
import { SEED_AMOUNT, untilPaid } from '../lib/seed.js';
import { BENCH_KEYS, startHookline, type Proc } from '../lib/stack.js';
import { HOOKLINE_BENCH_ENV } from './ingest.js';

type Role = Parameters<typeof startHookline>[2];

interface Topology {
  name: 'split' | 'all';
  psp: Proc;
  api: Proc;
  procs: Proc[];
}

const STAGES = ['delivery', 'received', 'stored', 'applied', 'paid'] as const;
type Stage = (typeof STAGES)[number];

interface Measured {
  n: number;
  unpaid: number;
  createErrors: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  stagesP50: Record<Stage, number>;
}

function pct(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Orders pending payment with a payment in `processing` that has no PSP payment yet. */
async function seed(ctx: BenchContext, n: number): Promise<{ orderId: string; paymentId: string }[]> {
  const rows = Array.from({ length: n }, () => ({ orderId: randomUUID(), paymentId: randomUUID() }));
  await ctx.db.query(
    `INSERT INTO orders (id, status, currency, amount, items)
     SELECT o, 'pending_payment', 'USD', $2::int,
            jsonb_build_array(jsonb_build_object('sku', 'BENCH-1', 'name', 'Bench item', 'quantity', 1, 'unitAmount', $2::int))
       FROM unnest($1::uuid[]) AS o`,
    [rows.map((r) => r.orderId), SEED_AMOUNT],
  );
  await ctx.db.query(
    `INSERT INTO payments (id, order_id, status, strategy, payment_method, amount, currency)
     SELECT p, o, 'processing', 'webhook', 'pm_card_ok', $3::int, 'USD'
       FROM unnest($1::uuid[], $2::uuid[]) AS t(p, o)`,
    [rows.map((r) => r.paymentId), rows.map((r) => r.orderId), SEED_AMOUNT],
  );
  return rows;
}

/**
 * Makes each payment at the PSP at `rate` per second (open loop: a slow answer does not
 * slow the ones after it), with the body and idempotency key the shop's PspClient sends.
 */
async function offer(t: Topology, payments: { orderId: string; paymentId: string }[], rate: number): Promise<number> {
  const started = performance.now();
  let errors = 0;
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < payments.length; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const p = payments[i];
    inFlight.push(
      fetch(`${t.psp.url}/psp/v1/payments`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${BENCH_KEYS.PSP_API_KEY}`,
          'content-type': 'application/json',
          'idempotency-key': p.paymentId,
        },
        body: JSON.stringify({
          amount: SEED_AMOUNT,
          currency: 'USD',
          callback_url: `${t.api.url}/webhooks/psp`,
          payment_method: 'pm_card_ok',
          metadata: { orderId: p.orderId, paymentId: p.paymentId },
        }),
      }).then(
        async (res) => {
          const body = (await res.json()) as { id?: string };
          if (res.status !== 201 || !body.id) errors++;
        },
        () => void errors++,
      ),
    );
  }
  await Promise.all(inFlight);
  // The shop's payments keep no PSP payment id here: the applier records it from the
  // webhook, which names the shop's payment in its metadata (writing it meanwhile would
  // contend with the applier for the same rows while the lag is measured).
  return errors;
}

async function measure(ctx: BenchContext, t: Topology, n: number, rate: number): Promise<Measured> {
  await ctx.settle();
  const payments = await seed(ctx, n);
  const createErrors = await offer(t, payments, rate);
  const orderIds = payments.map((p) => p.orderId);
  // The PSP's settle delay (chaos settleDelayMs) is at most 1.5 s by default.
  await untilPaid(ctx.db, orderIds, 30_000);
  const ms = (col: string) => `(extract(epoch FROM ${col}) * 1000)::float8`;
  const { rows } = await ctx.db.query<Record<'settled' | Stage, number | null>>(
    `SELECT ${ms('pp.settled_at')} AS settled,
            (SELECT ${ms('min(a.started_at)')} FROM webhook_messages m
               JOIN webhook_deliveries d ON d.message_id = m.id
               JOIN webhook_attempts a ON a.delivery_id = d.id
              WHERE m.owner = 'psp' AND m.event_id = e.id) AS delivery,
            ${ms('i.received_at')} AS received,
            ${ms('i.queued_at')} AS stored,
            ${ms('p.resolved_at')} AS applied,
            ${ms('o.paid_at')} AS paid
       FROM orders o
       JOIN payments p ON p.order_id = o.id
       LEFT JOIN psp_payments pp ON pp.id = p.psp_payment_id
       LEFT JOIN psp_events e ON e.payment_id = pp.id AND e.type = 'payment.completed'
       LEFT JOIN webhook_inbox i ON i.source = 'psp' AND i.event_id = e.id
      WHERE o.id = ANY($1::uuid[])`,
    [orderIds],
  );
  const lags: number[] = [];
  const stages = Object.fromEntries(STAGES.map((s) => [s, [] as number[]])) as Record<Stage, number[]>;
  for (const r of rows) {
    if (r.settled === null || r.paid === null) continue;
    lags.push(r.paid - r.settled);
    let prev = r.settled;
    for (const s of STAGES) {
      const at = r[s];
      if (at === null) break;
      stages[s].push(at - prev);
      prev = at;
    }
  }
  lags.sort((a, b) => a - b);
  return {
    n,
    unpaid: n - lags.length,
    createErrors,
    p50: pct(lags, 50),
    p95: pct(lags, 95),
    p99: pct(lags, 99),
    max: lags[lags.length - 1] ?? NaN,
    stagesP50: Object.fromEntries(STAGES.map((s) => [s, median(stages[s])])) as Record<Stage, number>,
  };
}

async function startTopology(ctx: BenchContext, name: Topology['name']): Promise<Topology> {
  // The PSP mock may call the shop on loopback; the shop's own calls to the PSP (the
  // fallback poll) go to PSP_BASE_URL. The bench makes the payments at the PSP itself and
  // names the callback URL, so the shop's PUBLIC_BASE_URL plays no part.
  const env = { ...HOOKLINE_BENCH_ENV, PSP_CALLBACK_ALLOWED_CIDRS: '127.0.0.0/8' };
  const start = (proc: string, role: Role | 'psp', extra: Record<string, string> = {}) =>
    // The bench's stack types the shop's roles; the PSP mock's role starts the same way.
    startHookline(ctx.cfg, proc, role, { ...env, ...extra }, ctx.nodeArgs(proc));
  if (name === 'all') {
    const all = await start('hookline-webhook-lag-all', 'all');
    return { name, psp: all, api: all, procs: [all] };
  }
  const psp = await start('hookline-webhook-lag-psp', 'psp');
  const api = await start('hookline-webhook-lag-api', 'api', { PSP_BASE_URL: psp.url });
  const worker = await start('hookline-webhook-lag-worker', 'worker', { PSP_BASE_URL: psp.url });
  return { name, psp, api, procs: [psp, api, worker] };
}

const RATES = [10, 100];
const TARGETS: Record<number, { p50: number; p99?: number }> = { 10: { p50: 15 }, 100: { p50: 20, p99: 100 } };

export const webhookLag: Scenario = {
  name: 'webhook-lag',
  async run(ctx) {
    const seconds = ctx.quick ? 5 : 10;
    for (const topology of ['split', 'all'] as const) {
      await ctx.db.query(`TRUNCATE webhook_inbox`);
      const t = await startTopology(ctx, topology);
      try {
        // Warm-up, not counted: V8's first tiers, connection pools, the callback endpoint's row.
        await measure(ctx, t, 200, 100);
        ctx.log(`webhook-lag ${topology}: warm-up of 200 payments at 100/s done (not counted)`);
        for (const nominal of RATES) {
          // The issue's rates are for a host of factor 1: a slower host is offered less.
          const rate = Math.max(1, Math.round(nominal * ctx.hostFactor));
          const rounds: Measured[] = [];
          for (let r = 0; r < ctx.rounds; r++) {
            const m = await measure(ctx, t, rate * seconds, rate);
            rounds.push(m);
            ctx.log(
              `webhook-lag ${topology} ${rate}/s round ${r + 1}/${ctx.rounds}: ${m.n - m.unpaid}/${m.n} paid, ${m.createErrors} PSP create errors; settled → paid p50 ${m.p50.toFixed(1)} · p95 ${m.p95.toFixed(1)} · p99 ${m.p99.toFixed(1)} · max ${m.max.toFixed(1)} ms; stages p50 ${stageNote(m.stagesP50)}`,
            );
          }
          const med = (f: (m: Measured) => number) => median(rounds.map(f));
          const [p50, p95, p99] = [med((m) => m.p50), med((m) => m.p95), med((m) => m.p99)];
          const unpaid = rounds.reduce((s, m) => s + m.unpaid, 0);
          const stagesP50 = Object.fromEntries(STAGES.map((s) => [s, med((m) => m.stagesP50[s])])) as Record<
            Stage,
            number
          >;
          const label = topology === 'split' ? 'psp · api · worker' : 'one all process';
          ctx.rows.push({
            scenario: 'webhook lag',
            subject: `settled → order paid, ${rate} payments/s, ${label}`,
            rate,
            rateUnit: 'payments/s offered',
            p50Ms: p50,
            p95Ms: p95,
            p99Ms: p99,
            note: `${ctx.rounds * rate * seconds - unpaid}/${ctx.rounds * rate * seconds} paid; max ${med((m) => m.max).toFixed(0)} ms; stages p50 ${stageNote(stagesP50)}`,
            rounds: rounds.map((m) => ({
              lagMs: { p50: m.p50, p95: m.p95, p99: m.p99, max: m.max },
              unpaid: m.unpaid,
              createErrors: m.createErrors,
              stagesP50Ms: m.stagesP50,
            })),
          });
          const goal = TARGETS[nominal];
          ctx.targets.push(
            target(
              'webhook lag',
              `${nominal} payments/s (× host factor: ${rate}/s), ${label}: p50 ≤ ${goal.p50} ms${goal.p99 ? `, p99 ≤ ${goal.p99} ms` : ''}`,
              { p50, p99, unpaid },
              (v) => ({
                measured: `p50 ${v.p50.toFixed(1)} ms, p99 ${v.p99.toFixed(1)} ms (median of ${ctx.rounds} rounds)`,
                met: v.unpaid === 0 && v.p50 <= goal.p50 && (goal.p99 === undefined || v.p99 <= goal.p99),
              }),
            ),
          );
        }
      } finally {
        await Promise.all(t.procs.map((p) => p.stop()));
      }
    }
  },
};

function stageNote(s: Record<Stage, number>): string {
  return `→ delivery started ${s.delivery.toFixed(1)} · → received ${s.received.toFixed(1)} · → stored ${s.stored.toFixed(1)} · → applied ${s.applied.toFixed(1)} · → paid ${s.paid.toFixed(1)} ms`;
}
