// Scenario 3, drain: 20,000 payment.completed events in the inbox, queued as the
// receiver leaves them (one job per group-commit batch, of the mean size scenario 1
// measured), each for a real order with a processing payment; one APP_ROLE=worker
// process at the default concurrency applies them (payments, orders, outbox and inbox
// rows of a job in one transaction). Events/s from the first to the last
// processed_at, and CPU per event of the worker, PostgreSQL and Redis.

import Bull from 'bull';
import { eventBody } from '../lib/events.js';
import { sleep } from '../lib/http-load.js';
import { cpuDelta, postgresPids, redisServerPids, sampleCpu } from '../lib/proc-cpu.js';
import type { Scenario } from '../lib/report.js';
import { seedPayments } from '../lib/seed.js';
import { startHookline } from '../lib/stack.js';
import { inboxJobs } from '../../../src/webhooks/inbound/inbox.service.js';
import { resetInboxes } from './ingest.js';

const TARGET_EVENTS_PER_S = 1500;
/** Events per job when scenario 1 did not run to say how the receiver batches (it measured 18–23 under its load). */
const DEFAULT_ROWS_PER_JOB = 20;

export const drain: Scenario = {
  name: 'drain',
  async run(ctx) {
    const n = ctx.quick ? 5_000 : 20_000;
    const perJob = Math.max(1, Math.round(ctx.inboxRowsPerJob ?? DEFAULT_ROWS_PER_JOB));
    await resetInboxes(ctx);
    const seeded = await seedPayments(ctx.db, n, `drain${Date.now()}`);
    // The inbox rows, as the receiver stores them (1 KB payloads), then their jobs.
    const now = new Date();
    const ids: string[] = [];
    for (let i = 0; i < n; i += 1000) {
      const chunk = seeded.slice(i, i + 1000);
      const payloads = chunk.map((p, k) =>
        eventBody(`evt_drain_${i + k}_${p.pspPaymentId}`, { ...p }).toString('utf8'),
      );
      const { rows } = await ctx.db.query<{ id: string }>(
        `INSERT INTO webhook_inbox (source, event_id, event_type, payload, received_at, verified_at, queued_at)
         SELECT 'psp', e->>'event_id', e->>'type', e, $2, $2, $2
           FROM unnest($1::jsonb[]) AS e
         RETURNING id`,
        [payloads, now],
      );
      ids.push(...rows.map((r) => r.id));
    }
    const worker = await startHookline(ctx.cfg, 'hookline-drain', 'worker', {}, ctx.nodeArgs('hookline-drain'));
    const queue = new Bull('webhook-inbox', ctx.cfg.redisUrl, { prefix: ctx.cfg.redisPrefix });
    const groups = {
      server: [worker.pid],
      postgres: () => postgresPids(ctx.admin, ctx.dbName),
      redis: redisServerPids(),
    };
    try {
      const before = await sampleCpu(groups);
      const started = Date.now();
      // One job per receiver batch, of the size the receiver left under the ingest load.
      const jobs = inboxJobs(ids, perJob);
      for (let i = 0; i < jobs.length; i += 1000) await queue.addBulk(jobs.slice(i, i + 1000));
      // Bounded: a slow drain is measured over what it applied in this time.
      const deadline = started + (ctx.quick ? 30_000 : 45_000);
      let done = 0;
      while (Date.now() < deadline) {
        const { rows } = await ctx.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM webhook_inbox WHERE processed_at IS NOT NULL`,
        );
        done = rows[0].n;
        if (done >= n) break;
        await sleep(250);
      }
      const after = await sampleCpu(groups);
      const cpu = cpuDelta(before, after);
      const { rows } = await ctx.db.query<{ first: Date; last: Date; applied: number; paid: number }>(
        `SELECT min(processed_at) AS first, max(processed_at) AS last,
                count(*) FILTER (WHERE status = 'processed')::int AS applied,
                (SELECT count(*)::int FROM orders WHERE status = 'paid') AS paid
           FROM webhook_inbox WHERE processed_at IS NOT NULL`,
      );
      const { first, last, applied, paid } = rows[0];
      const seconds = (last.getTime() - first.getTime()) / 1000;
      const rate = done / seconds;
      ctx.log(
        `drain: ${done}/${n} events in ${seconds.toFixed(1)} s = ${rate.toFixed(0)} events/s (${applied} applied, ${paid} orders paid)`,
      );
      const vsIngest = ctx.ingestRps ? rate / ctx.ingestRps : undefined;
      ctx.rows.push({
        scenario: '3 drain',
        subject: `worker, ${n.toLocaleString('en-US')} events queued, ${perJob} per job`,
        rate,
        rateUnit: 'events/s',
        ratio: vsIngest,
        ratioOf: 'ingest',
        cpuServerUs: (cpu.server / done) * 1e6,
        cpuPgUs: (cpu.postgres / done) * 1e6,
        cpuRedisUs: (cpu.redis / done) * 1e6,
        note: `${applied} applied, ${paid} orders paid${done < n ? ` (measured over the first ${done}: ${ctx.quick ? 30 : 45} s cap)` : ''}`,
      });
      ctx.targets.push({
        scenario: '3 drain',
        goal: `≥ ${TARGET_EVENTS_PER_S.toLocaleString('en-US')} events/s and faster than ingest`,
        measured: `${rate.toFixed(0)} events/s${vsIngest ? `, ${vsIngest.toFixed(2)}× ingest` : ''}`,
        met: rate >= TARGET_EVENTS_PER_S && (vsIngest === undefined || vsIngest > 1),
      });
    } finally {
      await queue.close();
      await worker.stop();
      // What the capped run left unapplied must not be picked up by the next scenario's
      // worker (its inbox sweeper reads the whole table).
      await ctx.db.query('TRUNCATE webhook_inbox');
    }
  },
};
