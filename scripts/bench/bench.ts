// npm run bench [-- --quick] [-- --only ingest,duplicates,drain,deliveries,lag,tracing] [-- --rounds 3 --duration 5]
//        [-- --runs 3]   (full runs, each on a fresh database; the targets are judged on the median of the runs)
//        [-- --ingest-rps 4000]   (without the ingest scenario: the rate the lag scenario takes a quarter of)
//        [-- --host-factor 1]   (instead of measuring the host's speed: see BenchContext.hostFactor)
//        [-- --cpu-prof]   (V8 CPU profiles of Hookline under the ingest and drain loads: reports/profile/*.cpuprofile,
//                           summarised by node dist/scripts/bench/profile-summary.js <file>)
//
// Hookline's throughput and latency next to baselines built into the bench, on loopback
// only, in one invocation: each scenario (scripts/bench/scenarios/*.ts) runs its
// subjects in interleaved rounds and reports medians, because ratios measured side by
// side are what a shared, noisy machine can tell. Uses its own database (dropped and
// created, then dropped) and its own Redis prefix (deleted), starts Hookline from the
// built dist/ (npm run bench builds first), prints a table and writes reports/bench.json.
// Each run first measures the host's speed (the bare HMAC server ÷ 20,000 req/s) and the
// scenarios scale their fixed rates and absolute CPU budgets by it. With --runs N, every
// run's table is printed and kept (reports/bench-run-<n>.json), then the table of the
// medians of the runs and the targets judged on them (reports/bench.json).
//
//   BENCH_DATABASE_URL  the database to (re)create  (default postgres://postgres@127.0.0.1:5432/hookline_bench)
//   REDIS_URL           Redis                       (default redis://127.0.0.1:6379)

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import type pg from 'pg';
import { measureHost } from './lib/host.js';
import { HOST_REFERENCE_RPS, table, targetTable, type BenchContext, type Scenario } from './lib/report.js';
import { medianRows, medianTargets, type RunResult } from './lib/runs.js';
import {
  adminClient,
  databaseClient,
  deleteRedisPrefix,
  dropDatabase,
  recreateDatabase,
  startHookline,
  stopAll,
} from './lib/stack.js';
import { checkout } from './scenarios/checkout.js';
import { deliveries } from './scenarios/deliveries.js';
import { drain } from './scenarios/drain.js';
import { duplicates } from './scenarios/duplicates.js';
import { ingest, NAIVE_TABLE, NEST_TABLE } from './scenarios/ingest.js';
import { idle } from './scenarios/idle.js';
import { lag } from './scenarios/lag.js';
import { webhookLag } from './scenarios/webhook-lag.js';
import { tracing } from './scenarios/tracing.js';

const SCENARIOS: Scenario[] = [ingest, duplicates, drain, deliveries, lag, webhookLag, checkout, idle, tracing];

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
function intArg(name: string, fallback: number, max: number): number {
  const raw = arg(name);
  const v = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(v) || v <= 0 || v > max) throw new Error(`--${name} must be an integer in 1..${max}`);
  return v;
}

const QUICK = process.argv.includes('--quick');
const CPU_PROF = process.argv.includes('--cpu-prof');
const ROUNDS = intArg('rounds', QUICK ? 2 : 3, 10);
const DURATION_S = intArg('duration', QUICK ? 3 : 5, 30);
const RUNS = intArg('runs', 1, 10);
const HOST_FACTOR = arg('host-factor') === undefined ? undefined : Number(arg('host-factor'));
if (HOST_FACTOR !== undefined && !(HOST_FACTOR > 0 && HOST_FACTOR <= 10)) {
  throw new Error('--host-factor must be a number in (0, 10]');
}
const only = arg('only')?.split(',');
const selected = only ? SCENARIOS.filter((s) => only.includes(s.name)) : SCENARIOS;
if (only && selected.length !== only.length) {
  throw new Error(`--only takes ${SCENARIOS.map((s) => s.name).join(',')}`);
}

const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/hookline_bench';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
for (const url of [DATABASE_URL, REDIS_URL]) {
  const host = new URL(url).hostname;
  if (!['localhost', '::1', '[::1]'].includes(host) && !host.startsWith('127.')) {
    throw new Error(`${url} is not on this machine: the bench only runs against loopback`);
  }
}
const DB_NAME = new URL(DATABASE_URL).pathname.slice(1);
if (!/^[a-z0-9_]+$/.test(DB_NAME) || !DB_NAME.includes('bench')) {
  throw new Error(`Refusing to drop and create database "${DB_NAME}": its name must contain "bench"`);
}

const REPORTS = resolve(__dirname, '../../../reports');
const started = Date.now();
const log = (msg: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${msg}`);

function version(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8' }).trim().split('\n')[0];
  } catch {
    return 'unknown';
  }
}

interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGb: number;
  node: string;
  postgres: string;
  synchronousCommit: string;
  autovacuum: string;
  redis: string;
}

function hostLine(r: Pick<RunResult, 'hostFactor' | 'hostRps'>): string {
  return r.hostRps === undefined
    ? `host factor ${r.hostFactor.toFixed(2)} (given by --host-factor)`
    : `host factor ${r.hostFactor.toFixed(2)} (bare HMAC server ${Math.round(r.hostRps).toLocaleString('en-US')} req/s ÷ ${HOST_REFERENCE_RPS.toLocaleString('en-US')})`;
}

/** One full pass of the selected scenarios on a freshly created database and its own Redis prefix. */
async function oneRun(run: number, admin: pg.Client, logDir: string): Promise<RunResult> {
  const cfg = {
    databaseUrl: DATABASE_URL,
    redisUrl: REDIS_URL,
    redisPrefix: `hookline-bench-${randomBytes(4).toString('hex')}`,
    logDir,
  };
  const warmupMs = QUICK ? 1000 : 1500;
  const connections = 50;
  await recreateDatabase(admin, DB_NAME);
  let db: pg.Client | undefined;
  try {
    // Hookline's migrations (at boot) make the schema; the naive and Nest baselines get copies of the inbox.
    const migrator = await startHookline(cfg, `hookline-migrate-${run}`, 'api');
    await migrator.stop();
    db = await databaseClient(DATABASE_URL);
    const client = db;
    for (const copy of [NAIVE_TABLE, NEST_TABLE]) {
      await client.query(`CREATE TABLE ${copy} (LIKE webhook_inbox INCLUDING ALL)`);
    }

    let hostRps: number | undefined;
    let hostFactor = HOST_FACTOR;
    if (hostFactor === undefined) {
      const host = await measureHost(cfg, NAIVE_TABLE, { connections, warmupMs, durationMs: QUICK ? 2000 : 3000 });
      hostRps = host.rps;
      hostFactor = host.factor;
    }
    log(`run ${run}/${RUNS}: ${hostLine({ hostFactor, hostRps })}`);

    const ctx: BenchContext = {
      cfg,
      quick: QUICK,
      rounds: ROUNDS,
      durationMs: DURATION_S * 1000,
      warmupMs,
      connections,
      admin,
      db: client,
      dbName: DB_NAME,
      rows: [],
      targets: [],
      run,
      runs: RUNS,
      hostFactor,
      hostRps,
      // Without scenario 1, what the drain and lag scenarios scale by can be given.
      ingestRps: arg('ingest-rps') ? intArg('ingest-rps', 1, 1_000_000) : undefined,
      log,
      settle: async () => {
        const t = Date.now();
        await client.query('VACUUM (ANALYZE)');
        return Date.now() - t;
      },
      nodeArgs: (name) =>
        CPU_PROF
          ? [
              '--cpu-prof',
              `--cpu-prof-dir=${join(REPORTS, 'profile')}`,
              `--cpu-prof-name=${name}${RUNS > 1 ? `-run${run}` : ''}.cpuprofile`,
            ]
          : [],
    };
    for (const [i, scenario] of selected.entries()) {
      // Each scenario starts on a vacuumed, analysed database (and the drain and lag
      // vacuum again between their rounds): the dead row versions of the updates before are
      // not the next run's to pay for. Where autovacuum is off, as on the machines this was
      // written on, nothing else would clean them up, and the lag scenario's PostgreSQL CPU
      // per event grew round by round (179 → 196 → 214 µs).
      if (i > 0) log(`vacuumed the bench database before ${scenario.name} in ${await ctx.settle()} ms (not measured)`);
      await scenario.run(ctx);
    }
    return { run, hostFactor, hostRps, rows: ctx.rows, targets: ctx.targets };
  } finally {
    await stopAll();
    await db?.end();
    await dropDatabase(admin, DB_NAME);
    await deleteRedisPrefix(REDIS_URL, cfg.redisPrefix);
  }
}

function settings() {
  return { runs: RUNS, rounds: ROUNDS, durationS: DURATION_S, connections: 50, quick: QUICK, hostFactor: HOST_FACTOR };
}

const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
const runJson = (r: RunResult) => ({
  run: r.run,
  hostFactor: r.hostFactor,
  hostRps: r.hostRps,
  rows: r.rows,
  targets: r.targets,
  table: table(r.rows),
  targetTable: targetTable(r.targets),
});

async function main(): Promise<void> {
  const logDir = mkdtempSync(join(tmpdir(), 'hookline-bench-'));
  const admin = await adminClient(DATABASE_URL);
  const pgVersion = (await admin.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0].v;
  const syncCommit = (await admin.query<{ v: string }>(`SELECT current_setting('synchronous_commit') AS v`)).rows[0].v;
  const autovacuum = (await admin.query<{ v: string }>(`SELECT current_setting('autovacuum') AS v`)).rows[0].v;
  const machine: Machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    postgres: pgVersion,
    synchronousCommit: syncCommit,
    autovacuum,
    redis: version('redis-server', ['--version']),
  };
  log(
    `Hookline bench: ${selected.map((s) => s.name).join(', ')}; ${RUNS > 1 ? `${RUNS} runs of ` : ''}${ROUNDS} rounds of ${DURATION_S} s${QUICK ? ' (quick)' : ''}`,
  );
  log(
    `machine: ${machine.cpus} CPUs (${machine.cpuModel}), Node ${machine.node}, PostgreSQL ${pgVersion} (synchronous_commit=${syncCommit}, autovacuum=${autovacuum}), ${machine.redis}`,
  );
  log(`child logs in ${logDir}`);
  if (CPU_PROF) mkdirSync(join(REPORTS, 'profile'), { recursive: true });
  mkdirSync(REPORTS, { recursive: true });

  const results: RunResult[] = [];
  try {
    for (let run = 1; run <= RUNS; run++) {
      const r = await oneRun(run, admin, logDir);
      results.push(r);
      console.log(
        `\n${RUNS > 1 ? `Run ${run} of ${RUNS}; ` : ''}${hostLine(r)}\n\n${table(r.rows)}\n\n${targetTable(r.targets)}\n`,
      );
      if (RUNS > 1) {
        const file = join(REPORTS, `bench-run-${run}.json`);
        writeFileSync(
          file,
          JSON.stringify(
            { at: new Date().toISOString(), command, machine, settings: settings(), ...runJson(r) },
            null,
            2,
          ),
        );
        log(`wrote ${file}`);
      }
    }
  } finally {
    await admin.end();
  }

  const summary = `Machine: ${machine.cpus} CPUs, Node ${machine.node}, PostgreSQL ${machine.postgres}, ${machine.redis}; ${RUNS > 1 ? `${RUNS} runs × ` : ''}${ROUNDS} rounds × ${DURATION_S} s, 50 connections; ${((Date.now() - started) / 1000).toFixed(0)} s in all.`;
  let rows = results[0].rows;
  let targets = results[0].targets;
  if (RUNS > 1) {
    rows = medianRows(results);
    targets = medianTargets(results);
    console.log(
      `\nMedian of ${RUNS} runs (host factors ${results.map((r) => r.hostFactor.toFixed(2)).join(' · ')}); a target is met only if the median meets it\n\n${table(rows)}\n\n${targetTable(targets)}\n`,
    );
  }
  console.log(summary);
  writeFileSync(
    join(REPORTS, 'bench.json'),
    JSON.stringify(
      {
        at: new Date().toISOString(),
        command,
        machine,
        settings: settings(),
        hostFactors: results.map((r) => r.hostFactor),
        // With --runs > 1: the medians of the runs, and every run below.
        rows,
        targets,
        table: table(rows),
        targetTable: targetTable(targets),
        runs: results.map(runJson),
      },
      null,
      2,
    ),
  );
  log(`wrote ${join(REPORTS, 'bench.json')}`);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`${signal}: stopping the bench's processes`);
    void stopAll().finally(() => process.exit(130));
  });
}

main().catch(async (err: Error) => {
  console.error(`bench failed: ${err.stack ?? err.message}`);
  await stopAll();
  process.exit(1);
});
