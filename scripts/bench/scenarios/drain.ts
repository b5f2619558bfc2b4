// Scenario 3, drain: 20,000 payment.completed events in the inbox, queued as the
// receiver leaves them (one job per group-commit batch, of the mean size scenario 1
// measured), each for a real order with a processing payment; one APP_ROLE=worker
// process at the default concurrency applies them (payments, orders, outbox and inbox
// rows of a job in one transaction). Events/s from the first to the last
// processed_at, and CPU per event of the worker, PostgreSQL and Redis; after a warm-up,
// `--rounds` runs on the same worker process, each after a VACUUM (ANALYZE) that is not
// measured; the table has their medians.

import { randomBytes } from 'node:crypto';
import Bull from 'bull';
import { eventBody } from '../lib/events.js';
import { sleep } from '../../lib/sleep.js';
import { cpuDelta, postgresPids, redisServerPids, sampleCpu } from '../lib/proc-cpu.js';
import { median, target, type BenchContext, type Scenario } from '../lib/report.js';
import { seedPayments } from '../lib/seed.js';
import { startHookline, type Proc } from '../lib/stack.js';
import { inboxJobs } from '../../../src/webhooks/inbound/inbox-queue.js';
import { resetInboxes } from './ingest.js';

/** Without scenario 1 to compare with: the floor for a host of factor 1, scaled by the run's. */
const TARGET_EVENTS_PER_S = 1500;
/** Events per job when scenario 1 did not run to say how the receiver batches (it measured 18–23 under its load). */
const DEFAULT_ROWS_PER_JOB = 20;

/** Events per job as the receiver leaves them: scenario 1's measure, or DEFAULT_ROWS_PER_JOB. */
export const rowsPerJob = (ctx: BenchContext) => Math.max(1, Math.round(ctx.inboxRowsPerJob ?? DEFAULT_ROWS_PER_JOB));

export interface RoundOptions {
  /**
   * Store a sampled W3C `traceparent` (a trace of its own) on each inbox row, as a
   * tracing-on receiver does, so that a tracing-on worker makes each event's spans.
   */
  traced?: boolean;
  /** The round ends when every event's merchant delivery (`order.paid`, to an endpoint registered before) has succeeded too. */
  deliveries?: boolean;
  /**
   * The CPU is sampled this long after the last event (ms), not at once: a tracing worker's
   * batch span processor exports the spans of the round's last second after it.
   */
  tailMs?: number;
}

export interface DrainRound {
  done: number;
  rate: number;
  applied: number;
  paid: number;
  /** Deliveries succeeded (with `deliveries`; else 0). */
  delivered: number;
  /** CPU per event, µs. */
  cpu: { worker: number; postgres: number; redis: number };
  /** The VACUUM before the round (not measured), ms. */
  vacuumMs: number;
}

/**
 * One measured run: `n` inbox rows for seeded processing payments, stored as the receiver
 * stores them (1 KB payloads), then enqueued in jobs of `perJob` on `queue` (the one
 * `worker` consumes); events/s from the first to the last processed_at, and CPU per event
 * up to the last one applied (and delivered, with `deliveries`), over at most the cap.
 */
export async function measureRound(
  ctx: BenchContext,
  worker: Proc,
  queue: Bull.Queue,
  n: number,
  perJob: number,
  tag: string,
  opts: RoundOptions = {},
): Promise<DrainRound> {
  await ctx.db.query('TRUNCATE webhook_inbox');
  if (opts.deliveries) await ctx.db.query('TRUNCATE webhook_attempts, webhook_deliveries, webhook_messages');
  const seeded = await seedPayments(ctx.db, n, tag);
  const now = new Date();
  const ids: string[] = [];
  for (let i = 0; i < n; i += 1000) {
    const chunk = seeded.slice(i, i + 1000);
    const payloads = chunk.map((p, k) => eventBody(`evt_${tag}_${i + k}_${p.pspPaymentId}`, { ...p }).toString('utf8'));
    // As the traced receiver's INSERT stores them (NULL when tracing is off).
    const contexts = chunk.map(() =>
      opts.traced ? `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01` : null,
    );
    const { rows } = await ctx.db.query<{ id: string }>(
      `INSERT INTO webhook_inbox (source, event_id, event_type, payload, received_at, verified_at, queued_at, trace_context)
       SELECT 'psp', e->>'event_id', e->>'type', e, $2, $2, $2, t
         FROM unnest($1::jsonb[], $3::text[]) AS x(e, t)
       RETURNING id`,
      [payloads, now, contexts],
    );
    ids.push(...rows.map((r) => r.id));
  }
  const vacuumMs = await ctx.settle();
  const groups = {
    server: [worker.pid],
    postgres: () => postgresPids(ctx.admin, ctx.dbName),
    redis: redisServerPids(),
  };
  const before = await sampleCpu(groups);
  const started = Date.now();
  // One job per receiver batch, of the size the receiver left under the ingest load.
  const jobs = inboxJobs(ids, perJob);
  for (let i = 0; i < jobs.length; i += 1000) await queue.addBulk(jobs.slice(i, i + 1000));
  // Bounded: a slow drain is measured over what it applied in this time.
  const deadline = started + (ctx.quick ? 30_000 : 45_000);
  let done = 0;
  let delivered = 0;
  while (Date.now() < deadline) {
    const { rows } = await ctx.db.query<{ n: number; delivered: number }>(
      `SELECT (SELECT count(*)::int FROM webhook_inbox WHERE processed_at IS NOT NULL) AS n,
              ${opts.deliveries ? `(SELECT count(*)::int FROM webhook_deliveries WHERE status = 'succeeded')` : '0'} AS delivered`,
    );
    done = rows[0].n;
    delivered = rows[0].delivered;
    if (done >= n && (!opts.deliveries || delivered >= n)) break;
    await sleep(250);
  }
  if (opts.tailMs) await sleep(opts.tailMs);
  const cpu = cpuDelta(before, await sampleCpu(groups));
  const { rows } = await ctx.db.query<{ first: Date; last: Date; applied: number; paid: number }>(
    `SELECT min(i.processed_at) AS first, max(i.processed_at) AS last,
            count(*) FILTER (WHERE i.status = 'processed')::int AS applied,
            (SELECT count(*)::int FROM orders o WHERE o.status = 'paid' AND o.id = ANY($1::uuid[])) AS paid
       FROM webhook_inbox i WHERE i.processed_at IS NOT NULL`,
    [seeded.map((p) => p.orderId)],
  );
  const { first, last, applied, paid } = rows[0];
  const seconds = (last.getTime() - first.getTime()) / 1000;
  return {
    done,
    rate: done / seconds,
    applied,
    paid,
    delivered,
    cpu: {
      worker: (cpu.server / done) * 1e6,
      postgres: (cpu.postgres / done) * 1e6,
      redis: (cpu.redis / done) * 1e6,
    },
    vacuumMs,
  };
}

export const drain: Scenario = {
  name: 'drain',
  async run(ctx) {
    const n = ctx.quick ? 5_000 : 20_000;
    const perJob = rowsPerJob(ctx);
    await resetInboxes(ctx);
    const worker = await startHookline(ctx.cfg, 'hookline-drain', 'worker', {}, ctx.nodeArgs('hookline-drain'));
    const queue = new Bull('webhook-inbox', ctx.cfg.redisUrl, { prefix: ctx.cfg.redisPrefix });
    try {
      // Not counted, as the other scenarios warm their processes up: a fresh worker applies its
      // first thousands of events in V8's cold tiers (its first round ran at about 0.8× the next).
      const warm = await measureRound(ctx, worker, queue, n / 4, perJob, `drainwarm_${Date.now()}`);
      ctx.log(`drain warm-up: ${warm.done} events = ${warm.rate.toFixed(0)} events/s (not counted)`);
      const rounds: DrainRound[] = [];
      for (let r = 0; r < ctx.rounds; r++) {
        const round = await measureRound(ctx, worker, queue, n, perJob, `drain${r}_${Date.now()}`);
        rounds.push(round);
        ctx.log(
          `drain round ${r + 1}/${ctx.rounds}: ${round.done}/${n} events = ${round.rate.toFixed(0)} events/s (${round.applied} applied, ${round.paid} orders paid)  CPU ${round.cpu.worker.toFixed(0)}/${round.cpu.postgres.toFixed(0)}/${round.cpu.redis.toFixed(0)} µs; vacuumed before it in ${round.vacuumMs} ms`,
        );
      }
      const med = (f: (r: DrainRound) => number) => median(rounds.map(f));
      const rate = med((r) => r.rate);
      const short = rounds.filter((r) => r.done < n).length;
      const vsIngest = ctx.ingestRps ? rate / ctx.ingestRps : undefined;
      ctx.rows.push({
        scenario: '3 drain',
        subject: `worker, ${n.toLocaleString('en-US')} events queued, ${perJob} per job`,
        rate,
        rateUnit: 'events/s',
        ratio: vsIngest,
        ratioOf: 'ingest',
        cpuServerUs: med((r) => r.cpu.worker),
        cpuPgUs: med((r) => r.cpu.postgres),
        cpuRedisUs: med((r) => r.cpu.redis),
        note:
          `${ctx.rounds} rounds: ${rounds.map((r) => r.rate.toFixed(0)).join(' · ')} events/s; ` +
          `${rounds.every((r) => r.applied === n && r.paid === n) ? `every event applied, every order paid` : rounds.map((r) => `${r.applied} applied, ${r.paid} paid`).join('; ')}` +
          (short ? ` (${short} round(s) measured over what ${ctx.quick ? 30 : 45} s applied)` : ''),
        rounds: rounds.map((r) => ({
          rate: r.rate,
          done: r.done,
          applied: r.applied,
          paid: r.paid,
          cpuUsPerEvent: r.cpu,
        })),
      });
      const floor = TARGET_EVENTS_PER_S * ctx.hostFactor;
      ctx.targets.push(
        vsIngest === undefined
          ? target(
              '3 drain',
              `≥ ${floor.toFixed(0)} events/s (1,500 × host factor ${ctx.hostFactor.toFixed(2)}; no ingest measured)`,
              { rate },
              (v) => ({
                measured: `${v.rate.toFixed(0)} events/s (median of ${ctx.rounds} rounds)`,
                met: v.rate >= floor,
              }),
            )
          : target('3 drain', '≥ 1.0× ingest', { rate, vsIngest }, (v) => ({
              measured: `${v.rate.toFixed(0)} events/s, ${v.vsIngest.toFixed(2)}× ingest (median of ${ctx.rounds} rounds)`,
              met: v.vsIngest >= 1,
            })),
      );
    } finally {
      await queue.close();
      await worker.stop();
      // What a capped run left unapplied must not be picked up by the next scenario's
      // worker (its inbox sweeper reads the whole table).
      await ctx.db.query('TRUNCATE webhook_inbox');
    }
  },
};
