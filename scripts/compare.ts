// npm run compare [-- --quick] [-- --payments 200 --concurrency 20 --timeout 180 --topology both] [-- --psp stripe] [-- --tls]
//                   [-- --only sweep]
//
// Measures the source material's comparison of short polling, long polling and webhooks
// (plus webhooks with 30 % of deliveries dropped and the fallback poll) on one workload,
// against Hookline processes it starts itself from dist/ (build first: npm run build):
// the production topology (PSP, shop API and shop worker as separate processes) and one
// `npm start` process. Rewrites the tables and charts of docs/webhooks-vs-polling.md
// (between its compare markers) and docs/compare/*.svg, and keeps the run's figures in
// docs/compare/latest.json (the one before in previous.json, shown beside it).
// Loopback only; bounded in count and time: --quick (20 payments each).
//
// The "suitable for" row: a sweep over settlement profiles (instant cards, 3-D Secure, bank
// transfers, time-scaled) and payment rates (scripts/compare/sweep.ts), in the plain run only.
// --only sweep: the sweep alone, its tables on the console and in reports/compare-sweep.json
// (the page untouched), for working on it.
//
// --psp stripe: the shop pays through its Stripe adapter (the official SDK) against the PSP
// mock's Stripe dialect (docs/using-stripe.md); Stripe has no long polling and no thin
// events here, so those two are left out. --tls: every process serves HTTPS with a
// throwaway CA's certificate and checks the others' (scripts/compare/tls.ts). Either one
// prints its tables and writes reports/compare-<variant>.json; only the plain run (the
// mock over HTTP) rewrites the doc page.
//
//   COMPARE_DATABASE_URL  a database the run drops and creates  (default postgres://postgres@127.0.0.1:5432/hookline_compare)
//   REDIS_URL             Redis for the run's queues, under its own prefix (default redis://127.0.0.1:6379)
//
// It observes without loading what it measures: while a strategy runs it asks PostgreSQL
// one count a second; when every payment is final it reads /proc and each process's
// /metrics once (as it did once before the strategy started) and the payments with their
// timelines and the PSP's delivery attempts once (scripts/compare/measure.ts).

import { cpus, totalmem } from 'node:os';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { databaseClient } from './bench/lib/stack.js';
import { runScenario, SCENARIOS, setChaos, type Result, type Workload } from './compare/measure.js';
import { complexity, sharedCore } from './compare/complexity.js';
import {
  charts,
  complexityCells,
  complexityChart,
  complexityTable,
  markdownTable,
  ms,
  pct,
  seedTable,
  topologySection,
} from './compare/report.js';
import { startStack, type Topology } from './compare/stack.js';
import { makeLoopbackPki } from './compare/tls.js';
import {
  analyseSweep,
  runSweep,
  suitableCells,
  sweepChart,
  sweepSection,
  sweepSideBySide,
  type SweepRecord,
} from './compare/sweep.js';

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
function arg(name: string, fallback: number): number {
  const i = argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(argv[i + 1]) : fallback;
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} must be a positive integer`);
  return value;
}
function topologies(): Topology[] {
  const i = argv.indexOf('--topology');
  const v = i >= 0 ? argv[i + 1] : 'both';
  if (v === 'both') return ['separate', 'single'];
  if (v === 'separate' || v === 'single') return [v];
  throw new Error('--topology must be separate, single or both');
}

const PSP = (() => {
  const i = argv.indexOf('--psp');
  const v = i >= 0 ? argv[i + 1] : 'mock';
  if (v !== 'mock' && v !== 'stripe') throw new Error('--psp must be mock or stripe');
  return v;
})();
const TLS = argv.includes('--tls');
const ONLY = (() => {
  const i = argv.indexOf('--only');
  if (i < 0) return null;
  if (argv[i + 1] !== 'sweep') throw new Error('--only takes sweep');
  return 'sweep' as const;
})();
/** The doc page holds the reference run only: the PSP mock over plain HTTP. */
const VARIANT = [PSP === 'stripe' ? 'stripe' : '', TLS ? 'tls' : ''].filter(Boolean).join('-');
const scenarios = SCENARIOS.filter(
  (s) => PSP === 'mock' || (s.strategy !== 'long_polling' && s.strategy !== 'thin_webhook'),
);

const workload: Workload = {
  payments: arg('payments', QUICK ? 20 : 200),
  concurrency: arg('concurrency', QUICK ? 10 : 20),
  timeoutS: arg('timeout', QUICK ? 40 : 180),
  settleDelayMs: { min: 200, max: 1500 },
};
if (workload.payments > 5000) throw new Error('--payments is capped at 5000');
const DATABASE_URL = process.env.COMPARE_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/hookline_compare';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
for (const url of [DATABASE_URL, REDIS_URL]) {
  const host = new URL(url).hostname;
  if (!['localhost', '::1', '[::1]'].includes(host) && !host.startsWith('127.')) {
    throw new Error(`${url} is not on this machine: the comparison only runs against loopback`);
  }
}

const DOC = join(process.cwd(), 'docs', 'webhooks-vs-polling.md');
const DIR = join(process.cwd(), 'docs', 'compare');
const BEGIN = '<!-- compare:begin (npm run compare rewrites this part) -->';
const END = '<!-- compare:end -->';

interface RunRecord {
  at: string;
  command: string;
  durationS: number;
  results: Record<Topology, Result[]>;
  sweep?: SweepRecord;
}

function sideBySide(previous: RunRecord | null, current: RunRecord): string {
  if (!previous) return 'No earlier run on record: the next run shows its figures beside these.';
  const rows = [
    [
      'strategy (separate processes)',
      'lag p50 · p95: before → now',
      'PSP + shop requests per payment: before → now',
      'CPU ms per payment: before → now',
    ],
  ];
  for (const r of current.results.separate ?? []) {
    const p = previous.results.separate?.find((x) => x.scenario.name === r.scenario.name);
    if (!p) continue;
    const lag = (x: Result) => `${ms(pct(x.lagsMs, 50))} · ${ms(pct(x.lagsMs, 95))}`;
    const req = (x: Result) => (x.psp.received + x.psp.sent).toFixed(2);
    const cpu = (x: Result) => ((x.psp.cpuMs ?? 0) + (x.shop.cpuMs ?? 0)).toFixed(1);
    rows.push([r.scenario.name, `${lag(p)} → ${lag(r)}`, `${req(p)} → ${req(r)}`, `${cpu(p)} → ${cpu(r)}`]);
  }
  const sweeps =
    previous.sweep && current.sweep ? sweepSideBySide(analyseSweep(previous.sweep), analyseSweep(current.sweep)) : '';
  return (
    `The run before (${previous.at}, \`${previous.command}\`) beside this one:\n\n${markdownTable(rows)}` +
    (sweeps ? `\n\n${sweeps}` : '')
  );
}

async function sweep(): Promise<SweepRecord> {
  console.log('\nsuitable for: the sweep over settlement profiles and payment rates …');
  return runSweep({
    quick: QUICK,
    databaseUrl: DATABASE_URL,
    redisUrl: REDIS_URL,
    logDir: join(process.cwd(), 'reports', 'compare-logs', 'sweep'),
  });
}

async function onlySweep(): Promise<void> {
  const record = await sweep();
  mkdirSync(join(process.cwd(), 'reports'), { recursive: true });
  writeFileSync(join(process.cwd(), 'reports', 'compare-sweep.json'), JSON.stringify(record, null, 1) + '\n');
  console.log(`\n${sweepSection(record, analyseSweep(record), 'compare')}`);
  console.log(
    `\nWrote reports/compare-sweep.json in ${record.durationS} s (--only sweep: the doc page is left as it is)`,
  );
  if (record.runs.some((r) => r.result.resolved < r.result.n)) process.exitCode = 1;
}

async function main(): Promise<void> {
  if (ONLY === 'sweep') return onlySweep();
  const started = Date.now();
  // From the source tree, before anything runs: a manifest naming a missing file or test stops here.
  const complexityRows = complexity(process.cwd());
  const core = sharedCore(process.cwd());
  const command = `npm run compare${argv.length ? ` -- ${argv.join(' ')}` : ''}`;
  const results = {} as Record<Topology, Result[]>;
  const tls = TLS ? makeLoopbackPki() : undefined;
  console.log(
    `Comparing ${scenarios.length} strategies, ${workload.payments} payments each (concurrency ${workload.concurrency}), ` +
      `settle delay ${workload.settleDelayMs.min}–${workload.settleDelayMs.max} ms`,
  );
  for (const topology of topologies()) {
    console.log(`\n${topology}: starting Hookline …`);
    const stack = await startStack(topology, {
      databaseUrl: DATABASE_URL,
      redisUrl: REDIS_URL,
      logDir: join(process.cwd(), 'reports', 'compare-logs', topology),
      // Above every payment the run can hold open at once: the strategy, not the pool, sets the peak.
      pspClientConnections: Math.max(workload.payments, 200) + 64,
      psp: PSP,
      tls,
    });
    const db = await databaseClient(DATABASE_URL);
    try {
      // Warm-up, not measured: the first payments after boot pay for JIT compilation and cold pools.
      process.stdout.write('  warm-up … ');
      // All of them at once: the code paths of every strategy, in the time of the slowest.
      await setChaos(stack, { dropRate: 0, declineRate: 0, settleDelayMs: workload.settleDelayMs });
      const warmUp = { ...workload, payments: Math.min(QUICK ? 5 : 10, workload.payments) };
      await Promise.all(
        scenarios.filter((s) => s.dropRate === 0).map((scenario) => runScenario(stack, db, scenario, warmUp, false)),
      );
      console.log('done');
      results[topology] = [];
      for (const scenario of scenarios) {
        process.stdout.write(`  ${scenario.name} … `);
        const r = await runScenario(stack, db, scenario, workload);
        results[topology].push(r);
        console.log(`${r.resolved}/${r.n} resolved in ${r.wallS.toFixed(1)} s`);
      }
    } finally {
      await db.end();
      await stack.stop();
    }
  }
  // The sweep belongs to the page: the variants leave it out.
  const sweepRecord = VARIANT ? undefined : await sweep();
  const record: RunRecord = {
    at: new Date().toISOString(),
    command,
    durationS: Math.round((Date.now() - started) / 1000),
    results,
    sweep: sweepRecord,
  };
  if (VARIANT) {
    // A variant of the reference run: its tables on the console and in reports/, the page untouched.
    mkdirSync(join(process.cwd(), 'reports'), { recursive: true });
    writeFileSync(join(process.cwd(), 'reports', `compare-${VARIANT}.json`), JSON.stringify(record, null, 1) + '\n');
    for (const t of Object.keys(results) as Topology[]) console.log(`\n${topologySection(t, results[t], 'compare')}`);
    console.log(
      `\nWrote reports/compare-${VARIANT}.json in ${record.durationS} s (${VARIANT}: the doc page is left as it is)`,
    );
    if (Object.values(results).some((rs) => rs.some((r) => r.resolved < r.n))) process.exitCode = 1;
    return;
  }
  mkdirSync(DIR, { recursive: true });
  const latest = join(DIR, 'latest.json');
  const previous = existsSync(latest) ? (JSON.parse(readFileSync(latest, 'utf8')) as RunRecord) : null;
  if (previous) renameSync(latest, join(DIR, 'previous.json'));
  writeFileSync(latest, JSON.stringify(record, null, 1) + '\n');
  for (const [topology, rs] of Object.entries(results)) {
    for (const [file, svg] of Object.entries(charts(topology as Topology, rs))) writeFileSync(join(DIR, file), svg);
  }
  writeFileSync(join(DIR, 'complexity.svg'), complexityChart(complexityRows));
  const analysis = analyseSweep(sweepRecord!);
  writeFileSync(join(DIR, 'suitable-for.svg'), sweepChart(analysis));
  const seedResults = results.separate ?? results.single;
  const cpu = cpus();
  const generated = [
    BEGIN,
    '',
    `Run ${record.at} · \`${command}\` · ${record.durationS} s · ${workload.payments} payments per strategy, ` +
      `concurrency ${workload.concurrency}, PSP settle delay ${workload.settleDelayMs.min}–${workload.settleDelayMs.max} ms · ` +
      `${cpu.length} × ${cpu[0]?.model ?? 'CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version} · ` +
      `the seed's table from the ${seedResults === results.separate ? 'separate-process' : 'one-process'} run`,
    '',
    seedTable(seedResults, complexityCells(complexityRows), suitableCells(analysis)),
    '',
    '### Implementation complexity, from the source tree',
    '',
    complexityTable(complexityRows, core),
    '',
    '![implementation complexity](compare/complexity.svg)',
    '',
    sweepSection(sweepRecord!, analysis, 'compare'),
    '',
    ...(Object.keys(results) as Topology[]).flatMap((t) => [topologySection(t, results[t], 'compare'), '']),
    sideBySide(previous, record),
    '',
    END,
  ].join('\n');
  const doc = readFileSync(DOC, 'utf8');
  const a = doc.indexOf(BEGIN);
  const b = doc.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${DOC} has no compare markers`);
  writeFileSync(DOC, doc.slice(0, a) + generated + doc.slice(b + END.length));
  console.log(`\nWrote docs/webhooks-vs-polling.md and docs/compare/ in ${record.durationS} s`);
  if (Object.values(results).some((rs) => rs.some((r) => r.resolved < r.n))) process.exitCode = 1;
  if (sweepRecord!.runs.some((r) => r.result.resolved < r.result.n)) process.exitCode = 1;
}

main().catch((err: Error) => {
  console.error(`compare failed: ${err.stack ?? err.message}`);
  process.exit(1);
});
