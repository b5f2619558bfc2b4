// Scenario `checkout`, the cost of one payment end to end (issue 22, target 4): the PSP mock,
// the shop API and a worker as separate processes, driven through the public API as a
// shop's client would (Idempotency-Key on both POSTs).
//
// (a) Closed loop, concurrency 10: POST /orders then POST /orders/:id/payments (the PSP
//     round trip included), with the PSP's settlements running at its default delay:
//     p50/p95/p99 of each request and checkouts/s.
// (b) Open loop at 50 payments/s (× the host factor), in three phases so each step's cost
//     stands alone: the orders; their payments (the PSP holds every settlement until the
//     phase is over); then the settlements at the same rate, each until its order is paid
//     (PSP settles and sends, api receives, worker applies, order paid, order.paid
//     message). Per phase and process: CPU ms (/proc) and the statements and transactions
//     Hookline sent PostgreSQL (hookline_db_queries_total / _transactions_total, read from
//     /metrics before and after; a scrape's own statements, measured, are taken off).
// (c) Context, not judged: (b) again at four times the rate, and a bare node:http server's
//     CPU per request at both rates. At 50/s every request wakes a sleeping process, and on
//     these VMs a wake-up costs about as much as Hookline's code (docs/performance.md).

import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { sleep } from '../../lib/sleep.js';
import { median, target, type BenchContext, type Scenario } from '../lib/report.js';
import { BENCH_KEYS, startHookline, type Proc } from '../lib/stack.js';
import { cpuSeconds, postgresPids, wakeups } from '../lib/proc-cpu.js';
import { wakeCost } from '../lib/wake-cost.js';

const ORDER_BODY = JSON.stringify({
  currency: 'USD',
  items: [{ sku: 'SKU-1', name: 'Bench item', quantity: 2, unitAmount: 1299 }],
});
const PAYMENT_BODY = JSON.stringify({ paymentMethod: 'pm_card_ok' });

interface Answer {
  status: number;
  body: string;
  ms: number;
}

function pct(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

class Client {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  constructor(private readonly base: string) {}

  post(path: string, body: string): Promise<Answer> {
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const req = http.request(
        this.base + path,
        {
          method: 'POST',
          agent: this.agent,
          headers: {
            authorization: `Bearer ${BENCH_KEYS.API_KEYS}`,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            'idempotency-key': randomUUID(),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              body: Buffer.concat(chunks).toString(),
              ms: performance.now() - started,
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

async function createOrder(client: Client): Promise<{ id: string | null; ms: number; ok: boolean }> {
  const a = await client.post('/orders', ORDER_BODY);
  return { id: a.status === 201 ? (JSON.parse(a.body) as { id: string }).id : null, ms: a.ms, ok: a.status === 201 };
}

async function pay(client: Client, orderId: string): Promise<{ ms: number; ok: boolean }> {
  const a = await client.post(`/orders/${orderId}/payments`, PAYMENT_BODY);
  return { ms: a.ms, ok: a.status === 201 };
}

/** Statements and transactions a process has sent PostgreSQL so far, from its /metrics. */
async function dbCounts(proc: Proc): Promise<{ statements: number; transactions: number }> {
  const res = await fetch(`${proc.url}/metrics`, {
    headers: { authorization: `Bearer ${BENCH_KEYS.METRICS_TOKEN}` },
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  const read = (name: string) => {
    const m = new RegExp(`^${name}\\{[^}]*\\} ([0-9.e+]+)$`, 'm').exec(text);
    if (!m) throw new Error(`${proc.name}: no ${name} in /metrics (status ${res.status})`);
    return Number(m[1]);
  };
  return { statements: read('hookline_db_queries_total'), transactions: read('hookline_db_transactions_total') };
}

type Role = 'api' | 'receiver' | 'worker' | 'psp';
interface Cost {
  cpuMs: number;
  /** Times the process's event loop slept and was woken (/proc voluntary context switches; not under --cpu-prof, whose sampler adds about 925 a second). */
  wakes: number;
  statements: number;
  transactions: number;
}
type PhaseCost = Record<Role | 'postgres', Cost> & { seconds: number };

/** Runs `fn` and returns what each process (and PostgreSQL's CPU) spent meanwhile, per `n` operations. */
async function costOf(
  ctx: BenchContext,
  procs: Record<Role, Proc>,
  scrape: Record<Role, { statements: number; transactions: number }>,
  n: number,
  fn: () => Promise<void>,
): Promise<PhaseCost> {
  const roles = Object.keys(procs) as Role[];
  // Per backend, so one that exits meanwhile (its CPU reads 0) takes nothing off the sum.
  const pgPids = await postgresPids(ctx.admin, ctx.dbName);
  const pgCpu = () => new Map(pgPids.map((p) => [p, cpuSeconds(p)]));
  const before = await Promise.all(roles.map((r) => dbCounts(procs[r])));
  const cpuBefore = roles.map((r) => cpuSeconds(procs[r].pid));
  const wakesBefore = roles.map((r) => wakeups(procs[r].pid));
  const pgBefore = pgCpu();
  const started = performance.now();
  await fn();
  const seconds = (performance.now() - started) / 1000;
  const cpuAfter = roles.map((r) => cpuSeconds(procs[r].pid));
  const wakesAfter = roles.map((r) => wakeups(procs[r].pid));
  const pgAfter = pgCpu();
  const after = await Promise.all(roles.map((r) => dbCounts(procs[r])));
  const out = { seconds: 0 } as PhaseCost;
  roles.forEach((r, i) => {
    out[r] = {
      cpuMs: ((cpuAfter[i] - cpuBefore[i]) * 1000) / n,
      wakes: (wakesAfter[i] - wakesBefore[i]) / n,
      statements: Math.max(0, after[i].statements - before[i].statements - scrape[r].statements) / n,
      transactions: Math.max(0, after[i].transactions - before[i].transactions - scrape[r].transactions) / n,
    };
  });
  let pgSeconds = 0;
  for (const [pid, after] of pgAfter) pgSeconds += after > 0 ? Math.max(0, after - (pgBefore.get(pid) ?? 0)) : 0;
  out.postgres = { cpuMs: (pgSeconds * 1000) / n, wakes: 0, statements: 0, transactions: 0 };
  out.seconds = seconds;
  return out;
}

/** Starts `n` calls of `fn` at `ratePerS`, each at its scheduled time whatever the others do; resolves when all ended. */
async function openLoop(n: number, ratePerS: number, fn: (i: number) => Promise<void>): Promise<void> {
  const started = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const due = started + (i * 1000) / ratePerS;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    pending.push(fn(i));
  }
  await Promise.all(pending);
}

async function untilPaid(ctx: BenchContext, orderIds: string[], timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await ctx.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM orders WHERE status = 'paid' AND id = ANY($1::uuid[])`,
      [orderIds],
    );
    if (rows[0].n >= orderIds.length || Date.now() > deadline) return orderIds.length - rows[0].n;
    await sleep(100);
  }
}

async function setSettleDelay(psp: Proc, min: number, max: number): Promise<void> {
  const res = await fetch(`${psp.url}/psp/v1/chaos`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${BENCH_KEYS.PSP_API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ settleDelayMs: { min, max } }),
  });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`PUT /psp/v1/chaos answered ${res.status}`);
}

interface ClosedResult {
  checkoutsPerS: number;
  order: { p50: number; p95: number; p99: number };
  payment: { p50: number; p95: number; p99: number };
  failed: number;
}

async function closedLoop(client: Client, concurrency: number, durationMs: number): Promise<ClosedResult> {
  const orderMs: number[] = [];
  const paymentMs: number[] = [];
  let failed = 0;
  let done = 0;
  const started = performance.now();
  const until = started + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        const o = await createOrder(client);
        orderMs.push(o.ms);
        if (!o.id) {
          failed++;
          continue;
        }
        const p = await pay(client, o.id);
        paymentMs.push(p.ms);
        if (p.ok) done++;
        else failed++;
      }
    }),
  );
  const wallS = (performance.now() - started) / 1000;
  const stats = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return { p50: pct(s, 50), p95: pct(s, 95), p99: pct(s, 99) };
  };
  return { checkoutsPerS: done / wallS, order: stats(orderMs), payment: stats(paymentMs), failed };
}

export const checkout: Scenario = {
  name: 'checkout',
  async run(ctx) {
    const hostFactor = ctx.hostFactor;
    const rate = Math.max(5, Math.round(50 * hostFactor));
    const seconds = ctx.quick ? 4 : 8;
    // The fallback poll stays out of a webhook's life (phase 3 holds settlements for seconds).
    const common = { WEBHOOK_DEADLINE_MS: '60000' };
    const psp = await startHookline(
      ctx.cfg,
      'hookline-checkout-psp',
      'psp',
      { ...common, PSP_CALLBACK_ALLOWED_CIDRS: '127.0.0.0/8' },
      ctx.nodeArgs('hookline-checkout-psp'),
    );
    // Two api replicas, as behind the compose gateway: one takes the PSP's webhooks (the
    // callback URL must be known before the other starts), one the shop's requests; so each
    // step's CPU and statements also stand alone.
    const receiver = await startHookline(
      ctx.cfg,
      'hookline-checkout-receiver',
      'api',
      { ...common, PSP_BASE_URL: psp.url },
      ctx.nodeArgs('hookline-checkout-receiver'),
    );
    const api = await startHookline(
      ctx.cfg,
      'hookline-checkout-api',
      'api',
      { ...common, PSP_BASE_URL: psp.url, PUBLIC_BASE_URL: receiver.url },
      ctx.nodeArgs('hookline-checkout-api'),
    );
    const worker = await startHookline(
      ctx.cfg,
      'hookline-checkout-worker',
      'worker',
      { ...common, PSP_BASE_URL: psp.url },
      ctx.nodeArgs('hookline-checkout-worker'),
    );
    const apiUrl = api.url;
    const procs: Record<Role, Proc> = { api, receiver, worker, psp };
    const client = new Client(apiUrl);
    try {
      await setSettleDelay(psp, 200, 1500);
      // Warm-up, not counted: fresh processes run their first requests in V8's cold tiers.
      await closedLoop(client, 10, ctx.quick ? 2000 : 4000);
      // (a) The closed loop, `rounds` times; medians.
      const closed: ClosedResult[] = [];
      for (let r = 0; r < ctx.rounds; r++) {
        await ctx.settle();
        closed.push(await closedLoop(client, 10, ctx.quick ? 4000 : Math.min(ctx.durationMs, 10_000)));
        const c = closed[closed.length - 1];
        ctx.log(
          `checkout round ${r + 1}/${ctx.rounds}: ${c.checkoutsPerS.toFixed(0)} checkouts/s at concurrency 10; POST /orders p50 ${c.order.p50.toFixed(1)} · p99 ${c.order.p99.toFixed(1)} ms; POST /payments p50 ${c.payment.p50.toFixed(1)} · p99 ${c.payment.p99.toFixed(1)} ms; ${c.failed} failed`,
        );
      }
      // Let the closed loop's settlements finish before (b) counts anything.
      await sleep(2000);
      await ctx.settle();

      // A scrape's own statements (gauges read at scrape time), taken off every delta below.
      const scrape = {} as Record<Role, { statements: number; transactions: number }>;
      for (const r of Object.keys(procs) as Role[]) {
        const a = await dbCounts(procs[r]);
        const b = await dbCounts(procs[r]);
        scrape[r] = { statements: b.statements - a.statements, transactions: b.transactions - a.transactions };
      }

      // The processes' own background (periodic tasks) with nothing to do, for 3 s: counted in
      // every phase below as it is in production, and reported beside it.
      const idle = await costOf(ctx, procs, scrape, 1, () => sleep(3000));
      const idleStatementsPerS =
        (Object.keys(procs) as Role[]).reduce((t, r) => t + idle[r].statements, 0) / idle.seconds;
      const idleWakes = (Object.keys(procs) as Role[])
        .map((r) => `${r} ${(idle[r].wakes / idle.seconds).toFixed(0)}`)
        .join(', ');

      const f1 = (x: number) => x.toFixed(1);
      const f2 = (x: number) => x.toFixed(2);
      const roles: Role[] = ['api', 'receiver', 'worker', 'psp'];
      const shop: Role[] = ['api', 'receiver', 'worker'];
      // (b) A payment's life at `at` payments/s, for `seconds` of each phase.
      const lifeAt = async (at: number) => {
        const n = at * seconds;
        // Phase 1: the orders.
        const orderIds: string[] = new Array<string>(n);
        let failures = 0;
        const orderCost = await costOf(ctx, procs, scrape, n, () =>
          openLoop(n, at, async (i) => {
            const o = await createOrder(client);
            if (o.id) orderIds[i] = o.id;
            else failures++;
          }),
        );
        // Phase 2: their payments; the PSP settles none of them before phase 3.
        const holdMs = seconds * 1000 + 3000;
        await setSettleDelay(psp, holdMs, holdMs);
        const phase2Started = Date.now();
        const paymentCost = await costOf(ctx, procs, scrape, n, () =>
          openLoop(n, at, async (i) => {
            const p = orderIds[i] ? await pay(client, orderIds[i]) : { ok: false };
            if (!p.ok) failures++;
          }),
        );
        await setSettleDelay(psp, 200, 1500);
        // Phase 3: the settlements, at the rate the payments were made, until every order is paid.
        const paid = orderIds.filter(Boolean);
        await sleep(Math.max(0, phase2Started + holdMs - 500 - Date.now()));
        let unpaid = 0;
        const settleCost = await costOf(ctx, procs, scrape, n, async () => {
          unpaid = await untilPaid(ctx, paid, holdMs + 30_000);
        });

        const phases = { order: orderCost, payment: paymentCost, settle: settleCost };
        const sum = (f: (c: Cost) => number, who: (Role | 'postgres')[]) =>
          Object.values(phases).reduce((s, p) => s + who.reduce((t, r) => t + f(p[r]), 0), 0);
        const life = {
          cpuShop: sum((c) => c.cpuMs, shop),
          cpuAll: sum((c) => c.cpuMs, roles),
          cpuPg: sum((c) => c.cpuMs, ['postgres']),
          wakes: sum((c) => c.wakes, roles),
          stmtShop: sum((c) => c.statements, shop),
          stmtAll: sum((c) => c.statements, roles),
          txShop: sum((c) => c.transactions, shop),
          txAll: sum((c) => c.transactions, roles),
        };
        const phaseSeconds = Object.values(phases).reduce((t, p) => t + p.seconds, 0);
        const phaseNote = (name: string, p: PhaseCost) =>
          `${name}: ` +
          roles
            .filter((r) => p[r].cpuMs >= 0.05 || p[r].statements >= 0.05)
            .map(
              (r) =>
                `${r} ${f2(p[r].cpuMs)} ms ${f1(p[r].wakes)} wakes ${f1(p[r].statements)} stmt ${f1(p[r].transactions)} tx`,
            )
            .join(', ') +
          `, PG ${f2(p.postgres.cpuMs)} ms`;
        const breakdown = [
          phaseNote('POST /orders', orderCost),
          phaseNote('POST /payments (PSP create)', paymentCost),
          phaseNote('settle → paid', settleCost),
        ].join('; ');
        ctx.log(
          `checkout: ${n} payments at ${at}/s, ${unpaid} unpaid, ${failures} failed requests; idle background ${f1(idleStatementsPerS)} statements/s, wake-ups/s ${idleWakes}; ${breakdown}`,
        );
        return {
          n,
          phases,
          life,
          unpaid,
          failures,
          breakdown,
          background: (idleStatementsPerS * phaseSeconds) / n,
          phaseSeconds,
        };
      };
      const judged = await lifeAt(rate);
      const { n, phases, life, unpaid, failures, breakdown, background, phaseSeconds } = judged;
      // Context, not judged: the same life with the processes four times as busy, and what a
      // bare node:http server spends per request at both rates (lib/wake-cost.ts). Their
      // difference is the part of a payment's CPU that is the host's cost of waking a process.
      await ctx.settle();
      const busy = await lifeAt(rate * 4);
      const [wakeAtRate, wakeBusy] = await wakeCost([rate, rate * 4], seconds);
      const busyNote =
        `at ${rate * 4}/s (4×, processes busier): ${f2(busy.life.cpuAll)} ms CPU, ${f1(busy.life.wakes)} wake-ups, ${f1(busy.life.stmtAll)} statements, ` +
        `${busy.unpaid} unpaid; a bare node:http server spends ${wakeAtRate.toFixed(0)} µs a request at ${rate}/s ` +
        `and ${wakeBusy.toFixed(0)} µs at ${rate * 4}/s`;
      ctx.log(`checkout: ${busyNote}`);

      const med = (f: (c: ClosedResult) => number) => median(closed.map(f));
      const c = {
        rate: med((r) => r.checkoutsPerS),
        order: { p50: med((r) => r.order.p50), p95: med((r) => r.order.p95), p99: med((r) => r.order.p99) },
        payment: { p50: med((r) => r.payment.p50), p95: med((r) => r.payment.p95), p99: med((r) => r.payment.p99) },
        failed: closed.reduce((s, r) => s + r.failed, 0),
      };
      const scaled = hostFactor === 1 ? '' : ` (× host factor ${hostFactor.toFixed(2)})`;
      ctx.rows.push(
        {
          scenario: '4 checkout',
          subject: 'POST /orders, concurrency 10',
          rate: c.rate,
          rateUnit: 'checkouts/s',
          p50Ms: c.order.p50,
          p95Ms: c.order.p95,
          p99Ms: c.order.p99,
          non2xx: c.failed,
          rounds: closed,
        },
        {
          scenario: '4 checkout',
          subject: 'POST /orders/:id/payments, concurrency 10',
          rate: c.rate,
          rateUnit: 'checkouts/s',
          p50Ms: c.payment.p50,
          p95Ms: c.payment.p95,
          p99Ms: c.payment.p99,
          note: 'PSP round trip included; settlements running',
        },
        {
          scenario: '4 checkout',
          subject: `one payment's life, ${rate} payments/s`,
          rate,
          rateUnit: 'payments/s offered',
          non2xx: failures,
          cpuServerUs: life.cpuAll * 1000,
          cpuPgUs: life.cpuPg * 1000,
          cpuRedisUs: NaN,
          note: `${n - unpaid}/${n} paid; shop (api, receiver, worker) ${f2(life.cpuShop)} ms CPU, ${f1(life.stmtShop)} statements, ${f1(life.txShop)} transactions; with the PSP mock ${f2(life.cpuAll)} ms, ${f1(life.wakes)} event-loop wake-ups, ${f1(life.stmtAll)} statements, ${f1(life.txAll)} transactions (of the statements, about ${f1(background)} are the processes' idle background: ${f1(idleStatementsPerS)}/s over the phases' ${phaseSeconds.toFixed(0)} s); ${breakdown}; ${busyNote}`,
          rounds: [
            {
              phases,
              life,
              busy: { rate: rate * 4, phases: busy.phases, life: busy.life },
              wakeUs: { [rate]: wakeAtRate, [rate * 4]: wakeBusy },
            },
          ],
        },
      );
      const cpuBudget = 8 / hostFactor;
      const o = 10 / hostFactor;
      const payBudget = 25 / hostFactor;
      const tail = 100 / hostFactor;
      const floor = 150 * hostFactor;
      ctx.targets.push(
        target(
          '4 checkout',
          `one payment's life ≤ ${f1(cpuBudget)} ms CPU${scaled} and ≤ 15 statements (api, receiver, worker and PSP mock)`,
          { cpu: life.cpuAll, stmts: life.stmtAll, cpuShop: life.cpuShop, stmtShop: life.stmtShop, unpaid, failures },
          (v) => ({
            measured: `${f2(v.cpu)} ms CPU, ${f1(v.stmts)} statements, about ${f1(background)} of them idle background (shop side ${f2(v.cpuShop)} ms, ${f1(v.stmtShop)}); ${v.unpaid} unpaid`,
            met: v.unpaid === 0 && v.failures === 0 && v.cpu <= cpuBudget && v.stmts <= 15,
          }),
        ),
        target(
          '4 checkout',
          `concurrency 10: POST /orders p50 ≤ ${f1(o)} ms, POST /payments p50 ≤ ${f1(payBudget)} ms; ≥ ${Math.round(floor)} checkouts/s, p99 ≤ ${f1(tail)} ms${scaled}`,
          {
            orderP50: c.order.p50,
            paymentP50: c.payment.p50,
            rate: c.rate,
            p99: Math.max(c.order.p99, c.payment.p99),
            failed: c.failed,
          },
          (v) => ({
            measured: `p50 ${f1(v.orderP50)} · ${f1(v.paymentP50)} ms; ${v.rate.toFixed(0)} checkouts/s; p99 ${f1(v.p99)} ms`,
            met: v.failed === 0 && v.orderP50 <= o && v.paymentP50 <= payBudget && v.rate >= floor && v.p99 <= tail,
          }),
        ),
      );
    } finally {
      client.close();
      await Promise.all([api.stop(), receiver.stop(), worker.stop(), psp.stop()]);
    }
  },
};
