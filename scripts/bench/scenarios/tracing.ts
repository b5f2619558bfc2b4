// Scenario tracing: what OpenTelemetry tracing costs per webhook, in two halves, each
// comparing tracing off (no OTEL_* set: the SDK is not loaded) with tracing on, every trace
// sampled (the SDK's default parent-based always-on), exporting OTLP/HTTP protobuf to a
// local sink that discards (scripts/bench/lib/otlp-sink.ts). The batch span processor gets
// a queue large enough that no span is dropped at these rates, so every span made is also
// serialised and sent.
//
// Receiver: the ingest load (unique, validly signed 1 KB events on POST /webhooks/psp,
// APP_ROLE=api) on two Hookline processes side by side, in interleaved rounds. Reported:
// CPU µs per webhook of the server, PostgreSQL and Redis, on and off.
//
// Worker: the drain's rounds (scripts/bench/scenarios/drain.ts: payment.completed events
// for seeded processing payments stored in the inbox, queued as the receiver leaves them)
// applied by two APP_ROLE=worker processes, each on its own Redis prefix, in interleaved
// rounds, each event's order.paid delivered to a registered merchant endpoint (a local
// server answering 200). The "on" worker's rows carry a stored trace context, as a
// tracing-on receiver leaves them, so it makes each event's spans: webhook.inbox.apply,
// order.transition, webhook.deliver and its undici POST. Reported: CPU µs per event applied
// and delivered, of the worker, PostgreSQL and Redis, on and off, sampled 1.5 s after the
// round's last delivery (the spans' last export); then receiver + worker.

import Bull from 'bull';
import { signedRequests, uniqueEvents } from '../lib/events.js';
import { startDiscardingOtlpSink } from '../lib/otlp-sink.js';
import { median, target, type BenchContext, type Scenario } from '../lib/report.js';
import { BENCH_KEYS, startHookline, type Proc } from '../lib/stack.js';
import { QueueName } from '../../../src/queue/queues.js';
import { measureRound, rowsPerJob, type DrainRound } from './drain.js';
import { checkDurable, HOOKLINE_BENCH_ENV, measure, resetInboxes, rowOf, warmUp, type Measured } from './ingest.js';

const POOL = 60_000;

type Sink = Awaited<ReturnType<typeof startDiscardingOtlpSink>>;

/** Tracing on, every span exported to the sink. */
const tracingOn = (sink: Sink) => ({
  OTEL_TRACES_EXPORTER: 'otlp',
  OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
  OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
  OTEL_BSP_MAX_QUEUE_SIZE: '131072',
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '2048',
  OTEL_BSP_SCHEDULE_DELAY: '1000',
});

/** CPU seconds of the server, PostgreSQL and Redis per webhook acknowledged with 202. */
const cpuPerAck = (r: Measured) => (r.cpu.server + r.cpu.postgres + r.cpu.redis) / Math.max(1, r.statuses['202'] ?? 0);

/** The receiver half; resolves with its median extra CPU µs per webhook (server + PostgreSQL + Redis). */
async function receiverHalf(ctx: BenchContext, sink: Sink): Promise<number> {
  const off = await startHookline(ctx.cfg, 'hookline-tracing-off', 'api', HOOKLINE_BENCH_ENV);
  let on: Proc | undefined;
  try {
    on = await startHookline(ctx.cfg, 'hookline-tracing-on', 'api', { ...HOOKLINE_BENCH_ENV, ...tracingOn(sink) });
    const subjects = [
      { name: 'off', proc: off, cycle: false },
      { name: 'on', proc: on, cycle: false },
    ];
    const runs: Record<string, Measured[]> = { off: [], on: [] };
    await warmUp(ctx, subjects);
    for (let round = 0; round < ctx.rounds; round++) {
      const events = uniqueEvents(ctx.quick ? POOL / 2 : POOL, `t${round}`);
      for (let k = 0; k < subjects.length; k++) {
        const s = subjects[(round + k) % subjects.length];
        await resetInboxes(ctx);
        const r = await measure(ctx, s.proc, signedRequests(s.proc.url, events, `tracing-${s.name}`));
        await checkDurable(ctx, r);
        runs[s.name].push(r);
        ctx.log(
          `tracing round ${round + 1}/${ctx.rounds} ${s.name.padEnd(3)} ${r.rps.toFixed(0).padStart(6)} req/s  p99 ${r.p99Ms.toFixed(1)} ms  CPU ${((r.cpu.server / r.count) * 1e6).toFixed(0)}/${((r.cpu.postgres / r.count) * 1e6).toFixed(0)}/${((r.cpu.redis / r.count) * 1e6).toFixed(0)} µs`,
        );
      }
    }
    const { exports, bytes } = sink.counts();
    const cpuRatio = median(runs.on.map((r, i) => cpuPerAck(r) / cpuPerAck(runs.off[i])));
    const extraUs = median(runs.on.map((r, i) => (cpuPerAck(r) - cpuPerAck(runs.off[i])) * 1e6));
    const serverExtraUs = median(
      runs.on.map((r, i) => (r.cpu.server / r.count) * 1e6 - (runs.off[i].cpu.server / runs.off[i].count) * 1e6),
    );
    const offRow = rowOf('tracing', 'Hookline ingest, tracing off (no OTEL_*)', runs.off, {
      ratio: 1,
      ratioOf: 'off',
    });
    const onRow = rowOf('tracing', 'Hookline ingest, tracing on (OTLP, all sampled)', runs.on, {
      ratio: median(runs.on.map((r, i) => r.rps / runs.off[i].rps)),
      ratioOf: 'off',
      note: `+${serverExtraUs.toFixed(0)} µs server CPU per webhook (+${extraUs.toFixed(0)} µs with PG + Redis, ${cpuRatio.toFixed(2)}× off); ${exports} OTLP exports, ${(bytes / 1e6).toFixed(1)} MB`,
    });
    ctx.rows.push(offRow, onRow);
    ctx.targets.push(
      target('tracing', 'tracing on costs ≤ 1.5× the CPU per webhook of tracing off', { cpuRatio }, (v) => ({
        measured: `${v.cpuRatio.toFixed(2)}×`,
        met: v.cpuRatio <= 1.5,
      })),
    );
    return extraUs;
  } finally {
    await Promise.all([off.stop(), on?.stop()]);
  }
}

/** CPU µs per event applied and delivered: worker + PostgreSQL + Redis. */
const cpuPerEvent = (r: DrainRound) => r.cpu.worker + r.cpu.postgres + r.cpu.redis;

/** The worker half; resolves with its median extra CPU µs per event (worker + PostgreSQL + Redis). */
async function workerHalf(ctx: BenchContext, sink: Sink): Promise<number> {
  const n = ctx.quick ? 5_000 : 20_000;
  const perJob = rowsPerJob(ctx);
  // The merchant's endpoint: any server answering 200 does; this one discards as the OTLP sink does.
  const merchant = await startDiscardingOtlpSink();
  const appEnv = {
    WEBHOOK_ALLOWED_CIDRS: '127.0.0.0/8',
    WEBHOOK_HTTP_ALLOWED_HOSTS: '127.0.0.1',
    // The idle worker's sweepers must not take up the other's rows, none of which waits this long.
    INBOX_SWEEP_STALE_MS: '3600000',
    WEBHOOK_SWEEP_STALE_MS: '3600000',
  };
  const procs: Proc[] = [];
  const queues: Bull.Queue[] = [];
  try {
    const api = await startHookline(ctx.cfg, 'hookline-tracing-endpoint', 'api', appEnv);
    try {
      const res = await fetch(`${api.url}/webhook-endpoints`, {
        method: 'POST',
        headers: { authorization: `Bearer ${BENCH_KEYS.ADMIN_API_KEYS}`, 'content-type': 'application/json' },
        body: JSON.stringify({ url: `${merchant.url}/hooks`, eventTypes: ['order.paid'] }),
      });
      const text = await res.text();
      if (res.status !== 201) throw new Error(`POST /webhook-endpoints answered ${res.status}: ${text}`);
    } finally {
      await api.stop();
    }
    await resetInboxes(ctx);
    const subjects: { name: 'off' | 'on'; proc: Proc; queue: Bull.Queue }[] = [];
    for (const name of ['off', 'on'] as const) {
      // Each worker on its own Redis prefix: its own inbox and delivery queues.
      const prefix = `${ctx.cfg.redisPrefix}-worker-${name}`;
      const proc = await startHookline(ctx.cfg, `hookline-tracing-worker-${name}`, 'worker', {
        ...appEnv,
        REDIS_PREFIX: prefix,
        ...(name === 'on' ? tracingOn(sink) : {}),
      });
      procs.push(proc);
      const queue = new Bull(QueueName.WebhookInbox, ctx.cfg.redisUrl, { prefix });
      queues.push(queue);
      subjects.push({ name, proc, queue });
    }
    const round = (s: (typeof subjects)[number], size: number, tag: string) =>
      measureRound(ctx, s.proc, s.queue, size, perJob, `${tag}_${Date.now()}`, {
        traced: s.name === 'on',
        deliveries: true,
        // Both workers alike: the on worker's last spans exported (OTEL_BSP_SCHEDULE_DELAY 1 s) within the window.
        tailMs: 1500,
      });
    for (const s of subjects) {
      const warm = await round(s, n / 4, `tracewarm_${s.name}`);
      ctx.log(`tracing worker warm-up ${s.name}: ${warm.done} events = ${warm.rate.toFixed(0)} events/s (not counted)`);
    }
    const before = sink.counts();
    const runs: Record<'off' | 'on', DrainRound[]> = { off: [], on: [] };
    for (let r = 0; r < ctx.rounds; r++) {
      for (let k = 0; k < subjects.length; k++) {
        const s = subjects[(r + k) % subjects.length];
        const res = await round(s, n, `tracew${r}_${s.name}`);
        if (res.done < n || res.delivered < n) {
          throw new Error(
            `tracing worker ${s.name}: ${res.done}/${n} applied, ${res.delivered}/${n} delivered in the round's time`,
          );
        }
        runs[s.name].push(res);
        ctx.log(
          `tracing worker round ${r + 1}/${ctx.rounds} ${s.name.padEnd(3)} ${res.rate.toFixed(0).padStart(6)} events/s  CPU ${res.cpu.worker.toFixed(0)}/${res.cpu.postgres.toFixed(0)}/${res.cpu.redis.toFixed(0)} µs; vacuumed before it in ${res.vacuumMs} ms`,
        );
      }
    }
    const after = sink.counts();
    const cpuRatio = median(runs.on.map((r, i) => cpuPerEvent(r) / cpuPerEvent(runs.off[i])));
    const extraUs = median(runs.on.map((r, i) => cpuPerEvent(r) - cpuPerEvent(runs.off[i])));
    const workerExtraUs = median(runs.on.map((r, i) => r.cpu.worker - runs.off[i].cpu.worker));
    const row = (name: 'off' | 'on', subject: string, extra: { ratio: number; note?: string }) => ({
      scenario: 'tracing',
      subject,
      rate: median(runs[name].map((r) => r.rate)),
      rateUnit: 'events/s',
      ratioOf: 'off',
      cpuServerUs: median(runs[name].map((r) => r.cpu.worker)),
      cpuPgUs: median(runs[name].map((r) => r.cpu.postgres)),
      cpuRedisUs: median(runs[name].map((r) => r.cpu.redis)),
      rounds: runs[name].map((r) => ({ rate: r.rate, done: r.done, delivered: r.delivered, cpuUsPerEvent: r.cpu })),
      ...extra,
    });
    ctx.rows.push(
      row('off', `worker, ${n.toLocaleString('en-US')} events applied + delivered, tracing off`, { ratio: 1 }),
      row('on', `worker, ${n.toLocaleString('en-US')} events applied + delivered, tracing on`, {
        ratio: median(runs.on.map((r, i) => r.rate / runs.off[i].rate)),
        note: `+${workerExtraUs.toFixed(0)} µs worker CPU per event (+${extraUs.toFixed(0)} µs with PG + Redis, ${cpuRatio.toFixed(2)}× off); ${after.exports - before.exports} OTLP exports, ${((after.bytes - before.bytes) / 1e6).toFixed(1)} MB`,
      }),
    );
    ctx.targets.push(
      target('tracing', 'worker: tracing on costs ≤ 1.5× the CPU per event of tracing off', { cpuRatio }, (v) => ({
        measured: `${v.cpuRatio.toFixed(2)}×`,
        met: v.cpuRatio <= 1.5,
      })),
    );
    return extraUs;
  } finally {
    await Promise.all(queues.map((q) => q.close()));
    await Promise.all(procs.map((p) => p.stop()));
    await merchant.close();
    // What a failed round left unapplied must not be picked up by the next scenario's worker.
    await ctx.db.query('TRUNCATE webhook_inbox, webhook_attempts, webhook_deliveries, webhook_messages');
  }
}

export const tracing: Scenario = {
  name: 'tracing',
  async run(ctx) {
    const sink = await startDiscardingOtlpSink();
    try {
      const receiverUs = await receiverHalf(ctx, sink);
      const vacuumMs = await ctx.settle();
      ctx.log(`vacuumed before the worker half in ${vacuumMs} ms (not measured)`);
      const workerUs = await workerHalf(ctx, sink);
      ctx.rows.push({
        scenario: 'tracing',
        subject: 'receiver + worker, tracing on − off',
        note: `+${(receiverUs + workerUs).toFixed(0)} µs CPU per webhook (receiver +${receiverUs.toFixed(0)}, worker +${workerUs.toFixed(0)}; server + PG + Redis, medians of the rounds)`,
      });
    } finally {
      await sink.close();
    }
  },
};
