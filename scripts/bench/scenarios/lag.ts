// Scenario 5, latency under load: the bench plays the PSP, settling seeded payments at
// a fixed arrival rate (half of Hookline's measured ingest capacity) by sending each
// one's payment.completed webhook at its scheduled time, to an api process and a
// worker process. Webhook lag = the scheduled settle time → the order's paid_at.

import os from 'node:os';
import { openLoop, sleep } from '../lib/http-load.js';
import { eventBody, signedRequests } from '../lib/events.js';
import type { BenchContext, Scenario } from '../lib/report.js';
import { seedPayments, type SeededPayment } from '../lib/seed.js';
import { startHookline } from '../lib/stack.js';
import { cpuDelta, cpuSeconds, postgresPids, redisServerPids, sampleCpu } from '../lib/proc-cpu.js';
import { HOOKLINE_BENCH_ENV, resetInboxes } from './ingest.js';

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** The payment.completed event of each seeded payment, with event ids tagged `tag`. */
function settleEvents(payments: SeededPayment[], tag: string) {
  return payments.map((p, i) => {
    const eventId = `evt_${tag}_${i}_${p.pspPaymentId}`;
    return { eventId, pspPaymentId: p.pspPaymentId, body: eventBody(eventId, p) };
  });
}

/** Waits until these orders are all paid, or `timeoutMs` has passed (earlier scenarios' orders are still in the table). */
async function untilPaid(ctx: BenchContext, orderIds: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { rows } = await ctx.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM orders WHERE status = 'paid' AND id = ANY($1::uuid[])`,
      [orderIds],
    );
    if (rows[0].n >= orderIds.length) return;
    await sleep(200);
  }
}

export const lag: Scenario = {
  name: 'lag',
  async run(ctx) {
    const rate = Math.max(50, Math.round((ctx.ingestRps ?? 1000) / 2));
    const seconds = ctx.quick ? 5 : 10;
    const n = rate * seconds;
    // Warm-up events, sent at the same rate before the measured ones and not counted:
    // fresh processes run their first thousands of events in V8's cold tiers, at up to
    // several times the CPU per event of a process that has been running.
    const warmN = Math.min(rate * (ctx.quick ? 3 : 5), 10_000);
    await resetInboxes(ctx);
    const all = await seedPayments(ctx.db, warmN + n, `lag${Date.now()}`);
    const [warm, seeded] = [all.slice(0, warmN), all.slice(warmN)];
    const api = await startHookline(ctx.cfg, 'hookline-lag-api', 'api', HOOKLINE_BENCH_ENV);
    const worker = await startHookline(ctx.cfg, 'hookline-lag-worker', 'worker');
    const sentAt = new Float64Array(n);
    try {
      const requests = signedRequests(api.url, settleEvents(seeded, 'lag'), 'lag');
      await openLoop({
        url: api.url,
        requests: signedRequests(api.url, settleEvents(warm, 'lagwarm'), 'lagwarm'),
        ratePerS: rate,
        connections: 16,
        maxConnections: 256,
      });
      await untilPaid(
        ctx,
        warm.map((p) => p.orderId),
        30_000,
      );
      ctx.log(`lag: warm-up of ${warmN} events at ${rate}/s applied (not counted)`);
      const groups = {
        server: [api.pid],
        postgres: () => postgresPids(ctx.admin, ctx.dbName),
        redis: redisServerPids(),
      };
      const cpuBefore = await sampleCpu(groups);
      const workerBefore = cpuSeconds(worker.pid);
      const wallStarted = Date.now();
      const load = await openLoop({
        url: api.url,
        requests,
        ratePerS: rate,
        connections: 16,
        maxConnections: 256,
        onSend: (i, at) => (sentAt[i] = at),
      });
      await untilPaid(
        ctx,
        seeded.map((p) => p.orderId),
        30_000,
      );
      // Where the CPU went while the load ran and the worker caught up (per event), and how
      // busy that kept the machine's cores: a lag far above the path's own latency is queueing.
      const cpu = cpuDelta(cpuBefore, await sampleCpu(groups));
      const workerCpu = cpuSeconds(worker.pid) - workerBefore;
      const wallS = (Date.now() - wallStarted) / 1000;
      const busy = (cpu.server + workerCpu + cpu.postgres + cpu.redis + cpu.client) / wallS / os.cpus().length;
      const perEvent = (sec: number) => ((sec / n) * 1e6).toFixed(0);
      const cpuNote = `CPU µs/event: api ${perEvent(cpu.server)} · worker ${perEvent(workerCpu)} · PG ${perEvent(cpu.postgres)} · Redis ${perEvent(cpu.redis)} · load generator ${perEvent(cpu.client)}; cores ${(busy * 100).toFixed(0)} % busy`;
      ctx.log(`lag: ${cpuNote}`);
      const { rows } = await ctx.db.query<{ order_id: string; paid_ms: string }>(
        `SELECT id AS order_id, (extract(epoch FROM paid_at) * 1000)::text AS paid_ms FROM orders WHERE paid_at IS NOT NULL`,
      );
      const paidAt = new Map(rows.map((r) => [r.order_id, Number(r.paid_ms)]));
      // An order not paid when the wait ended counts with the lag it had by then: the
      // percentiles are then lower bounds, and the note says so.
      const waitEnded = Date.now();
      const unpaid = seeded.filter((p) => !paidAt.has(p.orderId)).length;
      const lags = seeded.map((p, i) => (paidAt.get(p.orderId) ?? waitEnded) - sentAt[i]).sort((a, b) => a - b);
      const p50 = pct(lags, 50);
      const p95 = pct(lags, 95);
      const p99 = pct(lags, 99);
      ctx.log(
        `lag: ${rate} events/s for ${seconds} s; ${n - unpaid}/${n} orders paid; settle → paid p50 ${p50.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms; webhook answers p99 ${load.p99Ms.toFixed(1)} ms, ${load.non2xx} non-2xx`,
      );
      ctx.rows.push({
        scenario: '5 lag at ½ load',
        subject: `settle → order paid, ${rate} events/s for ${seconds} s`,
        rate,
        rateUnit: 'events/s offered',
        p50Ms: p50,
        p95Ms: p95,
        p99Ms: p99,
        non2xx: load.non2xx + load.errors,
        cpuServerUs: ((cpu.server + workerCpu) / n) * 1e6,
        cpuPgUs: (cpu.postgres / n) * 1e6,
        cpuRedisUs: (cpu.redis / n) * 1e6,
        note: `${n - unpaid}/${n} paid${unpaid ? ' within 30 s of the last send (lags are lower bounds)' : ''}; webhook answered p50 ${load.p50Ms.toFixed(1)} · p99 ${load.p99Ms.toFixed(1)} ms (one run); ${cpuNote}`,
        rounds: [{ lagMs: { p50, p95, p99, max: lags[lags.length - 1] }, unpaid, answers: load.statuses }],
      });
      ctx.targets.push({
        scenario: '5 lag at ½ load',
        goal: 'p50 ≤ 50 ms, p99 ≤ 250 ms',
        measured: `${unpaid ? '≥ ' : ''}p50 ${p50.toFixed(0)} ms, p95 ${p95.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms (${rate} events/s)`,
        met: unpaid === 0 && p50 <= 50 && p99 <= 250,
      });
    } finally {
      await Promise.all([api.stop(), worker.stop()]);
    }
  },
};
