// Scenario 1, ingest: POST /webhooks/psp with unique, validly signed 1 KB events over
// N connections, Hookline next to (a) a bare HMAC server, (b) the naive durable
// receiver and (c) what a NestJS user writes from the framework's docs
// (scripts/bench/baseline-nest/), in interleaved rounds. Before the first round every
// baseline must refuse a bad signature with 401 and take a good one with 202. Hookline runs as APP_ROLE=api (nothing processes
// the inbox meanwhile), with INBOX_BACKLOG_LIMIT raised so the backlog guard stays
// out of the way; between runs the inbox and the queues are emptied. After each
// Hookline run every 202 must have its row in PostgreSQL.

import { closedLoop, type LoadResult } from '../lib/http-load.js';
import { BENCH_SECRET, signedRequests, uniqueEvents } from '../lib/events.js';
import { cpuDelta, postgresPids, redisServerPids, sampleCpu, type CpuSample } from '../lib/proc-cpu.js';
import { median, target, type BenchContext, type Row, type Scenario } from '../lib/report.js';
import { deleteRedisPrefix, startBaseline, startHookline, startNestBaseline, type Proc } from '../lib/stack.js';
import { signHeader } from '../../../src/common/crypto/standard-webhooks.js';
import { NEST_TABLE } from '../baseline-nest/inbox-row.entity.js';

export { NEST_TABLE };
export const NAIVE_TABLE = 'bench_naive_inbox';
/** Unique events signed per run: more than the fastest durable receiver answers in one run. */
const POOL = 60_000;

export interface Measured extends LoadResult {
  cpu: { server: number; postgres: number; redis: number; client: number };
}

export const HOOKLINE_BENCH_ENV = { INBOX_BACKLOG_LIMIT: '100000000' };

export async function resetInboxes(ctx: BenchContext): Promise<void> {
  await ctx.db.query(`TRUNCATE webhook_inbox, ${NAIVE_TABLE}, ${NEST_TABLE}`);
  await deleteRedisPrefix(ctx.cfg.redisUrl, `${ctx.cfg.redisPrefix}`);
}

export async function measure(ctx: BenchContext, server: Proc, requests: Buffer[], cycle = false): Promise<Measured> {
  const groups = {
    server: [server.pid],
    postgres: () => postgresPids(ctx.admin, ctx.dbName),
    redis: redisServerPids(),
  };
  let a: CpuSample | undefined;
  let b: CpuSample | undefined;
  const result = await closedLoop({
    url: server.url,
    connections: ctx.connections,
    requests,
    cycle,
    warmupMs: ctx.warmupMs,
    durationMs: ctx.durationMs,
    onWindowStart: async () => (a = await sampleCpu(groups)),
    onWindowEnd: async () => (b = await sampleCpu(groups)),
  });
  return { ...result, cpu: cpuDelta(a!, b!) };
}

/**
 * One unmeasured run per server before its first round: a Nest process needs many
 * thousands of requests before V8 has optimised its hot paths (its first rounds ran up
 * to 2× slower than its later ones), a bare node:http server far fewer. Without this the
 * first round compares a cold Hookline with warm baselines.
 */
export async function warmUp(ctx: BenchContext, subjects: { name: string; proc: Proc; cycle: boolean }[]) {
  for (const s of subjects) {
    await resetInboxes(ctx);
    const requests = signedRequests(s.proc.url, uniqueEvents(ctx.quick ? 10_000 : 20_000, `warm-${s.name}`), 'warm');
    const r = await measure(ctx, s.proc, requests, s.cycle);
    ctx.log(`ingest warm-up ${s.name.padEnd(8)} ${r.rps.toFixed(0).padStart(6)} req/s (not counted)`);
  }
  await resetInboxes(ctx);
}

export function rowOf(scenario: string, subject: string, runs: Measured[], extra: Partial<Row> = {}): Row {
  const perReq = (k: keyof Measured['cpu']) => median(runs.map((r) => (r.cpu[k] / Math.max(1, r.count)) * 1e6));
  return {
    scenario,
    subject,
    rate: median(runs.map((r) => r.rps)),
    rateUnit: 'req/s',
    p50Ms: median(runs.map((r) => r.p50Ms)),
    p95Ms: median(runs.map((r) => r.p95Ms)),
    p99Ms: median(runs.map((r) => r.p99Ms)),
    non2xx: runs.reduce((s, r) => s + r.non2xx + r.errors, 0),
    cpuServerUs: perReq('server'),
    cpuPgUs: perReq('postgres'),
    cpuRedisUs: perReq('redis'),
    rounds: runs.map((r) => ({
      rps: r.rps,
      count: r.count,
      p50Ms: r.p50Ms,
      p99Ms: r.p99Ms,
      statuses: r.statuses,
      errors: r.errors,
      cpuSeconds: r.cpu,
    })),
    ...extra,
  };
}

/** Every 202 Hookline gave in a run has its inbox row (the durability promise, checked). */
export async function checkDurable(ctx: BenchContext, result: LoadResult, table = 'webhook_inbox'): Promise<void> {
  const acked = result.total['202'] ?? 0;
  const [{ n }] = (await ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows;
  if (n < acked) throw new Error(`${table}: ${acked} events acknowledged with 202 but only ${n} rows stored`);
}

/**
 * A receiver in the comparison must verify for real: a body signed with another secret is
 * refused with 401 and stores nothing, the same body signed with the bench's secret is taken.
 */
export async function checkVerifies(ctx: BenchContext, name: string, proc: Proc, table?: string): Promise<void> {
  const [event] = uniqueEvents(1, `check-${name}`);
  const post = async (secret: string) => {
    const id = `msg_check_${name}_${secret === BENCH_SECRET ? 'good' : 'bad'}`;
    const ts = Math.floor(Date.now() / 1000);
    const res = await fetch(`${proc.url}/webhooks/psp`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(ts),
        'webhook-signature': signHeader([secret], id, ts, event.body),
      },
      body: new Uint8Array(event.body),
      signal: AbortSignal.timeout(10_000),
    });
    await res.arrayBuffer();
    return res.status;
  };
  const stored = async () =>
    table
      ? (
          await ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE event_id = $1`, [
            event.eventId,
          ])
        ).rows[0].n
      : 0;
  const bad = await post(`whsec_${Buffer.from('not the bench secret, 32 bytes!!').toString('base64')}`);
  if (bad !== 401 || (await stored()) !== 0) {
    throw new Error(
      `${name}: a bad signature was answered ${bad}${table ? ` (${await stored()} rows stored)` : ''}, not 401`,
    );
  }
  const good = await post(BENCH_SECRET);
  if (good !== 202 || (table && (await stored()) !== 1))
    throw new Error(`${name}: a good signature was answered ${good}, not 202`);
  ctx.log(`ingest: ${name} refuses a bad signature with 401 and takes a good one with 202`);
}

/** CPU seconds of the server, PostgreSQL and Redis per webhook acknowledged with 202. */
function cpuPerAck(r: Measured): number {
  return (r.cpu.server + r.cpu.postgres + r.cpu.redis) / Math.max(1, r.statuses['202'] ?? 0);
}

/**
 * Events per receiver batch, which is also per inbox job: each batch's rows are
 * stamped queued by one statement, so rows / distinct queued_at.
 */
async function rowsPerJob(ctx: BenchContext): Promise<number> {
  const { rows } = await ctx.db.query<{ per: number }>(
    `SELECT count(*)::float8 / greatest(count(DISTINCT queued_at), 1) AS per FROM webhook_inbox`,
  );
  return rows[0].per;
}

export const ingest: Scenario = {
  name: 'ingest',
  async run(ctx) {
    const hookline = await startHookline(
      ctx.cfg,
      'hookline-ingest',
      'api',
      HOOKLINE_BENCH_ENV,
      ctx.nodeArgs('hookline-ingest'),
    );
    const hmac = await startBaseline(ctx.cfg, 'hmac', NAIVE_TABLE);
    const naive = await startBaseline(ctx.cfg, 'naive', NAIVE_TABLE);
    const nest = await startNestBaseline(ctx.cfg);
    const subjects: { name: string; proc: Proc; cycle: boolean }[] = [
      { name: 'hmac', proc: hmac, cycle: true },
      { name: 'naive', proc: naive, cycle: false },
      { name: 'nest', proc: nest, cycle: false },
      { name: 'hookline', proc: hookline, cycle: false },
    ];
    const runs: Record<string, Measured[]> = { hmac: [], naive: [], nest: [], hookline: [] };
    const jobSizes: number[] = [];
    try {
      await checkVerifies(ctx, 'hmac', hmac);
      await checkVerifies(ctx, 'naive', naive, NAIVE_TABLE);
      await checkVerifies(ctx, 'nest', nest, NEST_TABLE);
      await checkVerifies(ctx, 'hookline', hookline, 'webhook_inbox');
      await warmUp(ctx, subjects);
      for (let round = 0; round < ctx.rounds; round++) {
        const events = uniqueEvents(ctx.quick ? POOL / 2 : POOL, `r${round}`);
        // Rotate the order each round so no subject always runs on a warmer (or hotter) machine.
        for (let k = 0; k < subjects.length; k++) {
          const s = subjects[(round + k) % subjects.length];
          await resetInboxes(ctx);
          const requests = signedRequests(s.proc.url, events, s.name);
          const r = await measure(ctx, s.proc, requests, s.cycle);
          if (s.name === 'hookline') {
            await checkDurable(ctx, r);
            jobSizes.push(await rowsPerJob(ctx));
          }
          if (s.name === 'naive') await checkDurable(ctx, r, NAIVE_TABLE);
          if (s.name === 'nest') await checkDurable(ctx, r, NEST_TABLE);
          runs[s.name].push(r);
          ctx.log(
            `ingest round ${round + 1}/${ctx.rounds} ${s.name.padEnd(8)} ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${r.p50Ms.toFixed(1)} ms  p99 ${r.p99Ms.toFixed(1)} ms  non-2xx ${r.non2xx}  CPU ${((r.cpu.server / r.count) * 1e6).toFixed(0)}/${((r.cpu.postgres / r.count) * 1e6).toFixed(0)}/${((r.cpu.redis / r.count) * 1e6).toFixed(0)} µs`,
          );
        }
      }
    } finally {
      await Promise.all([hookline.stop(), hmac.stop(), naive.stop(), nest.stop()]);
    }
    const ratioTo = (name: string, base: string) => median(runs[name].map((r, i) => r.rps / runs[base][i].rps));
    // Per round, Hookline's CPU per acknowledged webhook over the naive path's in the same round.
    const cpuRatio = median(runs.hookline.map((r, i) => cpuPerAck(r) / cpuPerAck(runs.naive[i])));
    const vsNest = ratioTo('hookline', 'nest');
    const hooklineRow = rowOf('1 ingest', 'Hookline POST /webhooks/psp', runs.hookline, {
      ratio: ratioTo('hookline', 'naive'),
      ratioOf: 'naive',
      note: `${ratioTo('hookline', 'hmac').toFixed(2)}× bare HMAC; ${vsNest.toFixed(2)}× Nest docs; CPU per acknowledged webhook (server + PG + Redis) ${cpuRatio.toFixed(2)}× naive`,
    });
    ctx.rows.push(
      rowOf('1 ingest', '(a) bare node:http + HMAC', runs.hmac, { ratio: 1, ratioOf: 'hmac' }),
      rowOf('1 ingest', '(b) naive: HMAC + INSERT + Bull add', runs.naive, {
        ratio: ratioTo('naive', 'hmac'),
        ratioOf: 'hmac',
      }),
      rowOf('1 ingest', '(c) Nest docs: Express rawBody + standardwebhooks + TypeORM save + Bull add', runs.nest, {
        ratio: ratioTo('nest', 'hmac'),
        ratioOf: 'hmac',
      }),
      hooklineRow,
    );
    ctx.ingestRps = hooklineRow.rate;
    ctx.inboxRowsPerJob = median(jobSizes);
    ctx.log(
      `ingest: the receiver's group commit stored ${ctx.inboxRowsPerJob.toFixed(1)} events per batch (= per inbox job)`,
    );
    ctx.targets.push(
      target(
        '1 ingest',
        '≥ 2.0× naive req/s, CPU per acknowledged webhook (server + PG + Redis) ≤ 0.4× naive, p99 ≤ 100 ms, 0 non-2xx',
        { ratio: hooklineRow.ratio!, cpuRatio, p99Ms: hooklineRow.p99Ms!, non2xx: hooklineRow.non2xx! },
        (v) => ({
          measured: `${v.ratio.toFixed(2)}×, CPU ${v.cpuRatio.toFixed(2)}×, p99 ${v.p99Ms.toFixed(1)} ms, ${v.non2xx} non-2xx`,
          met: v.ratio >= 2 && v.cpuRatio <= 0.4 && v.p99Ms <= 100 && v.non2xx === 0,
        }),
      ),
      target('1 ingest', '≥ 3× the Nest docs receiver req/s', { vsNest }, (v) => ({
        measured: `${v.vsNest.toFixed(2)}×`,
        met: v.vsNest >= 3,
      })),
    );
  },
};
