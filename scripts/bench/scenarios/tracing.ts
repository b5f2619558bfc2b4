// Scenario tracing: what OpenTelemetry tracing costs per webhook. The ingest load (unique,
// validly signed 1 KB events on POST /webhooks/psp, APP_ROLE=api) on two Hookline
// processes side by side, in interleaved rounds: tracing off (no OTEL_* set: the SDK is
// not loaded) and tracing on, every trace sampled (the SDK's default parent-based
// always-on), exporting OTLP/HTTP protobuf to a local sink that discards
// (scripts/bench/lib/otlp-sink.ts). The batch span processor gets a queue large enough
// that no span is dropped at this rate, so every span made is also serialised and sent.
// Reported: CPU µs per webhook of the server, PostgreSQL and Redis, on and off.

import { signedRequests, uniqueEvents } from '../lib/events.js';
import { startDiscardingOtlpSink } from '../lib/otlp-sink.js';
import { median, target, type Scenario } from '../lib/report.js';
import { startHookline, type Proc } from '../lib/stack.js';
import { checkDurable, HOOKLINE_BENCH_ENV, measure, resetInboxes, rowOf, warmUp, type Measured } from './ingest.js';

const POOL = 60_000;

/** CPU seconds of the server, PostgreSQL and Redis per webhook acknowledged with 202. */
const cpuPerAck = (r: Measured) => (r.cpu.server + r.cpu.postgres + r.cpu.redis) / Math.max(1, r.statuses['202'] ?? 0);

export const tracing: Scenario = {
  name: 'tracing',
  async run(ctx) {
    const sink = await startDiscardingOtlpSink();
    const off = await startHookline(ctx.cfg, 'hookline-tracing-off', 'api', HOOKLINE_BENCH_ENV);
    let on: Proc | undefined;
    try {
      on = await startHookline(ctx.cfg, 'hookline-tracing-on', 'api', {
        ...HOOKLINE_BENCH_ENV,
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
        OTEL_BSP_MAX_QUEUE_SIZE: '131072',
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '2048',
        OTEL_BSP_SCHEDULE_DELAY: '1000',
      });
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
    } finally {
      await Promise.all([off.stop(), on?.stop()]);
      await sink.close();
    }
  },
};
