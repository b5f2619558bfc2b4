// Scenario 4, deliveries: the outbound engine to a local sink (deliveries/s with their
// attempts recorded) next to a bare Bull worker POSTing signed bodies with an undici
// pool and recording nothing. Target: ≥ 0.6× the baseline.
//
// The sink is a bare node:http server in its own process (answers 200). One endpoint is
// registered through the admin API (an `api` process, stopped afterwards), then one
// APP_ROLE=worker process runs the shop's delivery queue at WEBHOOK_DELIVERY_CONCURRENCY
// 64, with WEBHOOK_ENDPOINT_CONCURRENCY raised to 64 too (the default 16 per endpoint
// would put most of 64 slots off with one endpoint, and the baseline has 64 in flight
// to one sink). Each round, before the clock: the outbound tables are emptied and N
// messages with one pending delivery each are written by SQL as the outbox writes them
// (1 KB payloads); then, clock running, they are enqueued as the outbox's relay does
// (addBulk, job id = delivery id) and the round ends when all N are `succeeded` in
// PostgreSQL. Rate = N / (first attempt's started_at → last succeeded_at).
// The baseline (scripts/bench/lib/delivery-children.ts, its own process and Redis
// prefix) enqueues N jobs carrying their 1 KB body the same way with its worker
// already listening; rate = N / (first job start → last answer). Rounds interleave;
// medians. CPU per delivery: the worker (or baseline) process, PostgreSQL, Redis.

import { fork, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Bull from 'bull';
import type { ChildMessage, ParentMessage } from '../lib/delivery-children.js';
import { BENCH_SECRET, eventBody } from '../lib/events.js';
import { sleep } from '../../lib/sleep.js';
import { cpuDelta, postgresPids, redisServerPids, sampleCpu, type CpuGroups } from '../lib/proc-cpu.js';
import { median, target, type BenchContext, type Scenario } from '../lib/report.js';
import { BENCH_KEYS, startHookline } from '../lib/stack.js';
import { QueueName } from '../../../src/queue/queues.js';
import { deliveryJob } from '../../../src/webhooks/outbound/delivery/delivery-job.js';
import { NODE_FLAGS } from '../../../src/node-flags.js';

const CHILD = resolve(__dirname, '../lib/delivery-children.js');
const CONCURRENCY = 64;
const EVENT_TYPE = 'bench.delivery';
const TARGET_RATIO = 0.6;

interface Child {
  child: ChildProcess;
  pid: number;
  next<K extends ChildMessage['kind']>(kind: K, timeoutMs?: number): Promise<Extract<ChildMessage, { kind: K }>>;
  send(m: ParentMessage): void;
  stop(): Promise<void>;
}

function startChild(ctx: BenchContext, name: string, mode: string, env: Record<string, string>): Child {
  const fd = openSync(join(ctx.cfg.logDir, `${name}.log`), 'a');
  const child = fork(CHILD, [mode], {
    // The Node flags Hookline runs with: the ratio compares designs, not runtime tuning.
    execArgv: [...NODE_FLAGS],
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', ...env },
    stdio: ['ignore', fd, fd, 'ipc'],
  });
  closeSync(fd);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const inbox: ChildMessage[] = [];
  const waiters: ((m: ChildMessage) => boolean)[] = [];
  child.on('message', (m: ChildMessage) => {
    const i = waiters.findIndex((w) => w(m));
    if (i >= 0) waiters.splice(i, 1);
    else inbox.push(m);
  });
  return {
    child,
    pid: child.pid!,
    next(kind, timeoutMs = 120_000) {
      type M = Extract<ChildMessage, { kind: typeof kind }>;
      const queued = inbox.findIndex((m) => m.kind === kind);
      if (queued >= 0) return Promise.resolve(inbox.splice(queued, 1)[0] as M);
      return new Promise<M>((ok, fail) => {
        const timer = setTimeout(() => fail(new Error(`${name}: no "${kind}" in ${timeoutMs} ms`)), timeoutMs);
        const onExit = () => fail(new Error(`${name} exited; see ${ctx.cfg.logDir}/${name}.log`));
        child.once('exit', onExit);
        waiters.push((m) => {
          if (m.kind !== kind) return false;
          clearTimeout(timer);
          child.off('exit', onExit);
          ok(m as M);
          return true;
        });
      });
    },
    send(m) {
      child.send(m);
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.send({ cmd: 'stop' } satisfies ParentMessage);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

interface RoundResult {
  rate: number;
  seconds: number;
  delivered: number;
  attempts?: number;
  cpuServerUs: number;
  cpuPgUs: number;
  cpuRedisUs: number;
}

export const deliveries: Scenario = {
  name: 'deliveries',
  async run(ctx) {
    // Long enough rounds (a second or more at these rates) that a scheduling hiccup does not decide the ratio.
    const n = ctx.quick ? 3_000 : 10_000;
    const body = eventBody('evt_bench_delivery', { pspPaymentId: 'pay_bench_delivery' }).toString('utf8');
    const sink = startChild(ctx, 'delivery-sink', 'sink', {});
    let worker: Awaited<ReturnType<typeof startHookline>> | undefined;
    let baseline: Child | undefined;
    let queue: Bull.Queue | undefined;
    try {
      const { port } = await sink.next('ready', 15_000);
      const sinkUrl = `http://127.0.0.1:${port}/hooks`;
      const appEnv = {
        WEBHOOK_ALLOWED_CIDRS: '127.0.0.0/8',
        // Production refuses http:// endpoints (decision 0805); the loopback sink is plain HTTP.
        WEBHOOK_HTTP_ALLOWED_HOSTS: '127.0.0.1',
        WEBHOOK_DELIVERY_CONCURRENCY: String(CONCURRENCY),
        WEBHOOK_ENDPOINT_CONCURRENCY: String(CONCURRENCY),
      };

      // The endpoint, through the management API.
      const api = await startHookline(ctx.cfg, 'hookline-deliveries-api', 'api', appEnv);
      let endpointId: string;
      try {
        const res = await fetch(`${api.url}/webhook-endpoints`, {
          method: 'POST',
          headers: { authorization: `Bearer ${BENCH_KEYS.ADMIN_API_KEYS}`, 'content-type': 'application/json' },
          // webhook.test: nothing else reaches it; the bench's own messages name it as their endpoint.
          body: JSON.stringify({ url: sinkUrl, eventTypes: ['webhook.test'] }),
        });
        const text = await res.text();
        if (res.status !== 201) throw new Error(`POST /webhook-endpoints answered ${res.status}: ${text}`);
        endpointId = (JSON.parse(text) as { id: string }).id;
      } finally {
        await api.stop();
      }

      worker = await startHookline(
        ctx.cfg,
        'hookline-deliveries',
        'worker',
        appEnv,
        ctx.nodeArgs('hookline-deliveries'),
      );
      queue = new Bull(QueueName.WebhookDelivery, ctx.cfg.redisUrl, { prefix: ctx.cfg.redisPrefix });
      baseline = startChild(ctx, 'delivery-baseline', 'baseline', {
        SINK_URL: sinkUrl,
        BENCH_SECRET,
        CONCURRENCY: String(CONCURRENCY),
        REDIS_URL: ctx.cfg.redisUrl,
        REDIS_PREFIX: `${ctx.cfg.redisPrefix}-dlvbase`,
      });
      await baseline.next('ready', 15_000);
      const redis = redisServerPids();
      const postgres = () => postgresPids(ctx.admin, ctx.dbName);

      const engineRound = async (round: number): Promise<RoundResult> => {
        await ctx.db.query('TRUNCATE webhook_attempts, webhook_deliveries, webhook_messages');
        const tag = `r${round}_${Date.now()}`;
        const payloads = Array.from({ length: n }, (_, i) =>
          eventBody(`evt_bench_dlv_${tag}_${i}`, { pspPaymentId: `pay_bench_dlv_${i}` }).toString('utf8'),
        );
        const { rows } = await ctx.db.query<{ id: string }>(
          `WITH m AS (
             INSERT INTO webhook_messages (owner, event_id, event_type, payload)
             SELECT 'shop', p->>'event_id', $2, p FROM unnest($1::jsonb[]) AS p
             RETURNING id)
           INSERT INTO webhook_deliveries (message_id, endpoint_id, status, next_attempt_at)
           SELECT m.id, $3, 'pending', now() FROM m
           RETURNING id`,
          [payloads, EVENT_TYPE, endpointId],
        );
        const groups: CpuGroups = { server: [worker!.pid], postgres, redis };
        const before = await sampleCpu(groups);
        for (let i = 0; i < rows.length; i += 1000) {
          await queue!.addBulk(rows.slice(i, i + 1000).map((d) => deliveryJob(d.id)));
        }
        const deadline = Date.now() + (ctx.quick ? 30_000 : 60_000);
        while (Date.now() < deadline) {
          const r = await ctx.db.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM webhook_deliveries WHERE status <> 'pending'`,
          );
          if (r.rows[0].n >= n) break;
          await sleep(100);
        }
        const after = await sampleCpu(groups);
        const cpu = cpuDelta(before, after);
        const stats = await ctx.db.query<{ first: Date; last: Date; succeeded: number; attempts: number }>(
          `SELECT (SELECT min(started_at) FROM webhook_attempts) AS first,
                  max(succeeded_at) AS last,
                  count(*) FILTER (WHERE status = 'succeeded')::int AS succeeded,
                  (SELECT count(*)::int FROM webhook_attempts) AS attempts
             FROM webhook_deliveries`,
        );
        const { first, last, succeeded, attempts } = stats.rows[0];
        const seconds = (last.getTime() - first.getTime()) / 1000;
        return {
          rate: succeeded / seconds,
          seconds,
          delivered: succeeded,
          attempts,
          cpuServerUs: (cpu.server / succeeded) * 1e6,
          cpuPgUs: (cpu.postgres / succeeded) * 1e6,
          cpuRedisUs: (cpu.redis / succeeded) * 1e6,
        };
      };

      const baselineRound = async (round: number): Promise<RoundResult> => {
        const groups: CpuGroups = { server: [baseline!.pid], postgres, redis };
        const before = await sampleCpu(groups);
        baseline!.send({ cmd: 'run', n, tag: `r${round}_${Date.now()}`, body });
        const done = await baseline!.next('done', ctx.quick ? 30_000 : 60_000);
        const after = await sampleCpu(groups);
        const cpu = cpuDelta(before, after);
        const seconds = done.elapsedMs / 1000;
        return {
          rate: done.n / seconds,
          seconds,
          delivered: done.n,
          cpuServerUs: (cpu.server / done.n) * 1e6,
          cpuPgUs: (cpu.postgres / done.n) * 1e6,
          cpuRedisUs: (cpu.redis / done.n) * 1e6,
        };
      };

      // A short warm-up of each (connections, JIT), not measured.
      await engineRound(0);
      await baselineRound(0);
      const engine: RoundResult[] = [];
      const base: RoundResult[] = [];
      for (let round = 1; round <= ctx.rounds; round++) {
        const e = await engineRound(round);
        engine.push(e);
        ctx.log(
          `deliveries round ${round}: engine ${e.delivered}/${n} in ${e.seconds.toFixed(2)} s = ${e.rate.toFixed(0)}/s (${e.attempts} attempts)`,
        );
        const b = await baselineRound(round);
        base.push(b);
        ctx.log(
          `deliveries round ${round}: baseline ${b.delivered}/${n} in ${b.seconds.toFixed(2)} s = ${b.rate.toFixed(0)}/s`,
        );
      }
      sink.send({ cmd: 'count' });
      const { count: sinkCount } = await sink.next('count');
      const med = (rs: RoundResult[], k: keyof RoundResult) => median(rs.map((r) => r[k] ?? NaN));
      const engineRate = med(engine, 'rate');
      const baseRate = med(base, 'rate');
      const ratio = engineRate / baseRate;
      const undelivered = engine.filter((r) => r.delivered < n).length + base.filter((r) => r.delivered < n).length;
      ctx.rows.push({
        scenario: '4 deliveries',
        subject: 'baseline: Bull + undici, unrecorded',
        rate: baseRate,
        rateUnit: 'deliveries/s',
        ratio: 1,
        ratioOf: 'baseline',
        cpuServerUs: med(base, 'cpuServerUs'),
        cpuPgUs: med(base, 'cpuPgUs'),
        cpuRedisUs: med(base, 'cpuRedisUs'),
        note: `${n.toLocaleString('en-US')} jobs a round, concurrency ${CONCURRENCY}, 1 KB signed bodies`,
        rounds: base,
      });
      ctx.rows.push({
        scenario: '4 deliveries',
        subject: 'outbound engine → local sink',
        rate: engineRate,
        rateUnit: 'deliveries/s',
        ratio,
        ratioOf: 'baseline',
        cpuServerUs: med(engine, 'cpuServerUs'),
        cpuPgUs: med(engine, 'cpuPgUs'),
        cpuRedisUs: med(engine, 'cpuRedisUs'),
        note:
          `${n.toLocaleString('en-US')} deliveries a round to 1 endpoint, concurrency ${CONCURRENCY} ` +
          `(endpoint cap ${CONCURRENCY}), every attempt recorded; sink got ${sinkCount.toLocaleString('en-US')} POSTs` +
          (undelivered > 0 ? `; ${undelivered} round(s) did not finish in time` : ''),
        rounds: engine,
      });
      ctx.targets.push(
        target(
          '4 deliveries',
          `≥ ${TARGET_RATIO}× unrecorded Bull + undici baseline`,
          { engineRate, baseRate, ratio },
          (v) => ({
            measured: `${v.engineRate.toFixed(0)} vs ${v.baseRate.toFixed(0)} deliveries/s = ${v.ratio.toFixed(2)}×`,
            met: v.ratio >= TARGET_RATIO,
          }),
        ),
      );
    } finally {
      await queue?.close();
      await worker?.stop();
      await baseline?.stop();
      await sink.stop();
    }
  },
};
