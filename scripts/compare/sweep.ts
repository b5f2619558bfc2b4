// The "suitable for" row: a sweep over settlement profiles (instant cards, 3-D Secure, bank
// transfers, the slow ones time-scaled) and payment rates. One Hookline in the production
// topology (scripts/compare/stack.ts) with SHORT_POLL_INTERVAL_MS = sweepIntervalMs(); per
// rate and profile it runs the webhook, the thin webhook + fetch and short polling (and long
// polling on cards) with payments arriving at the rate (open loop), then works out per profile
// and rate, from the measured runs and the model of scripts/compare/sweep-model.ts: the lag
// target (the webhook's p95), the short-poll interval reaching it, each strategy's CPU per
// payment at that lag (webhooks with 30 % dropped derived from the webhook run, not run), the
// cheapest, and the break-even short-poll interval. Method and formulas:
// docs/webhooks-vs-polling.md#suitable-for-the-sweep.

import { PspMockEnv } from '../../src/config/schema/psp-mock-env.js';
import { databaseClient } from '../bench/lib/stack.js';
import { runScenario, setChaos, type Result, type Scenario } from './measure.js';
import { markdownTable, pct } from './report.js';
import { startStack } from './stack.js';
import { barChart } from './svg.js';
import {
  breakEven,
  cheapestAtLag,
  COST_TOLERANCE,
  droppedLagPercentile,
  droppedMixPolls,
  equalLagInterval,
  expectedFallbackPolls,
  expectedPolls,
  fitCommonSlope,
  fitLine,
  LAG_TOLERANCE,
  mean,
  percentile,
  shortPollCpu,
  shortPollLag,
  tiedAtLag,
  type Candidate,
  type PollCost,
  type Uniform,
} from './sweep-model.js';

export type ProfileKey = 'cards' | '3ds' | 'bank';

export interface Profile {
  key: ProfileKey;
  name: string;
  /** Real settlement delays (ms). */
  settleMs: Uniform;
  /** Real time per run time: the run draws settleMs / scale, and its short-poll interval is that many times as long in real time. */
  scale: number;
  /** The source material's adjective for this kind of update, and the strategy it names for it. */
  adjective: string;
  sourceSays: Strategy;
}

/** The strategies the sweep runs. */
type Strategy = 'webhook' | 'short_polling' | 'long_polling' | 'thin_webhook';
/** Its columns: those, and the dropped-webhook one derived from the webhook run. */
type Column = Strategy | 'webhook_dropped';

const LABEL: Record<Column, string> = {
  webhook: 'webhook',
  short_polling: 'short polling',
  long_polling: 'long polling',
  thin_webhook: 'thin webhook + fetch',
  webhook_dropped: 'webhook, 30 % dropped (derived)',
};

/**
 * The shop's short-poll interval in the run (scaled time): SHORT_POLL_INTERVAL_MS of the
 * sweep's stack. --quick halves it and scales the slow profiles twice as hard: the same real
 * intervals and polls per payment, in half the run time.
 */
export const sweepIntervalMs = (quick: boolean) => (quick ? 125 : 250);
/** The defaults the real-time figures assume (src/config/schema/polling-env.ts). */
export const REAL_DEADLINE_MS = 7000;
export const REAL_LONG_POLL_WAIT_MS = 10_000;
/** The dropped-webhook column's share of webhooks dropped (the comparison's 30 % row): derived, not run. */
export const DROP_SHARE = 0.3;
/**
 * The lag target of a profile (decision 1104): the webhook's p95, or this share of the
 * profile's shortest settlement if that is longer: a buyer who waited at least that long does
 * not tell a result that much later from one at once.
 */
export const TARGET_SHARE_OF_SETTLEMENT = 0.1;
export const lagTarget = (webhookP95Ms: number, d: Uniform) =>
  Math.max(webhookP95Ms, TARGET_SHARE_OF_SETTLEMENT * d.min);

/** The shop's PSP client pool by default (decision 1101): long polls held beyond it wait in the pool. */
export const DEFAULT_PSP_CLIENT_CONNECTIONS = new PspMockEnv().PSP_CLIENT_CONNECTIONS;

/** SHORT_POLL_INTERVAL_MS's lower bound: an interval below it cannot be configured. */
export const MIN_INTERVAL_MS = 100;

/**
 * The profiles and their time scales (decision 1103): in run time the slow ones settle within
 * 3 s and 6 s (--quick: 1.5 s and 3 s), so that their short polls per payment spread from
 * about 2 (cards) to 7 (bank transfers), the spread the per-poll cost is fitted over.
 */
export function sweepProfiles(quick = false): Profile[] {
  const k = quick ? 2 : 1;
  return [
    {
      key: 'cards',
      name: 'instant cards',
      settleMs: { min: 200, max: 1500 },
      scale: 1,
      adjective: 'real-time notifications',
      sourceSays: 'webhook',
    },
    {
      key: '3ds',
      name: '3-D Secure',
      settleMs: { min: 5000, max: 60_000 },
      scale: 20 * k,
      adjective: 'medium-frequency updates',
      sourceSays: 'long_polling',
    },
    {
      key: 'bank',
      name: 'bank transfers',
      settleMs: { min: 120_000, max: 1_800_000 },
      scale: 300 * k,
      adjective: 'low-frequency updates',
      sourceSays: 'short_polling',
    },
  ];
}

export interface SweepRun {
  profile: ProfileKey;
  rate: number;
  strategy: Strategy;
  result: Result;
}

export interface SweepRecord {
  intervalMs: number;
  arrivalS: number;
  rates: number[];
  profiles: Profile[];
  runs: SweepRun[];
  durationS: number;
}

export interface SweepOptions {
  quick: boolean;
  databaseUrl: string;
  redisUrl: string;
  logDir: string;
}

const scenario = (strategy: Strategy): Scenario => ({ name: LABEL[strategy], strategy, dropRate: 0 });
/** The strategies run per profile: long polling on cards only (its wait is whole seconds, not scaled). */
export const sweepStrategies = (profile: ProfileKey): Strategy[] =>
  profile === 'cards'
    ? ['webhook', 'thin_webhook', 'short_polling', 'long_polling']
    : ['webhook', 'thin_webhook', 'short_polling'];
const scaled = (d: Uniform, scale: number): Uniform => ({
  min: Math.round(d.min / scale),
  max: Math.round(d.max / scale),
});

export async function runSweep(opts: SweepOptions): Promise<SweepRecord> {
  const started = Date.now();
  const rates = [5, 40];
  const arrivalS = opts.quick ? 1 : 6;
  const profiles = sweepProfiles(opts.quick);
  const intervalMs = sweepIntervalMs(opts.quick);
  process.stdout.write('  starting Hookline (separate processes) … ');
  const stack = await startStack('separate', {
    databaseUrl: opts.databaseUrl,
    redisUrl: opts.redisUrl,
    logDir: opts.logDir,
    pspClientConnections: Math.max(...rates) * arrivalS + 264,
    env: { SHORT_POLL_INTERVAL_MS: String(intervalMs) },
  });
  console.log(`${((Date.now() - started) / 1000).toFixed(1)} s`);
  const db = await databaseClient(opts.databaseUrl);
  const runs: SweepRun[] = [];
  try {
    process.stdout.write('  warm-up … ');
    const warmUp = { payments: 5, concurrency: 5, timeoutS: 30, settleDelayMs: { min: 50, max: 300 } };
    await setChaos(stack, { dropRate: 0, declineRate: 0, settleDelayMs: warmUp.settleDelayMs });
    await Promise.all(
      (['webhook', 'thin_webhook', 'short_polling', 'long_polling'] as const).map((s) =>
        runScenario(stack, db, scenario(s), warmUp, false),
      ),
    );
    console.log('done');
    for (const rate of rates) {
      for (const profile of profiles) {
        // Long polling's cost beyond its first poll is the polls and the held connection (counted,
        // not timed): measured where its wait (LONG_POLL_WAIT_S, whole seconds) need not be scaled.
        for (const strategy of sweepStrategies(profile.key)) {
          const settleDelayMs = scaled(profile.settleMs, profile.scale);
          process.stdout.write(`  ${profile.name} · ${rate}/s · ${LABEL[strategy]} … `);
          const result = await runScenario(stack, db, scenario(strategy), {
            payments: rate * arrivalS,
            concurrency: rate,
            ratePerS: rate,
            timeoutS: arrivalS + Math.ceil(settleDelayMs.max / 1000) + 30,
            settleDelayMs,
            shortPollIntervalMs: intervalMs,
            checkEveryMs: 250,
          });
          runs.push({ profile: profile.key, rate, strategy, result });
          console.log(`${result.resolved}/${result.n} resolved in ${result.wallS.toFixed(1)} s`);
        }
      }
    }
  } finally {
    await db.end();
    const stopping = Date.now();
    await stack.stop();
    console.log(`  stopped in ${((Date.now() - stopping) / 1000).toFixed(1)} s`);
  }
  return {
    intervalMs,
    arrivalS,
    rates,
    profiles,
    runs,
    durationS: Math.round((Date.now() - started) / 1000),
  };
}

const cpuOf = (r: Result) => (r.psp.cpuMs ?? 0) + (r.shop.cpuMs ?? 0);

export interface SweepRow {
  profile: Profile;
  rate: number;
  webhookP95Ms: number;
  targetMs: number;
  /** Short polling: the interval reaching the target (real ms), null if none can. */
  equalLagIntervalMs: number | null;
  /** Derived: the dropped-webhook column, from the webhook run and the per-poll cost (not run). */
  candidates: (Candidate & { requests: number; derived?: boolean })[];
  cheapest: Candidate | null;
  /** The cheapest and those within COST_TOLERANCE of it (within the target). */
  tied: Candidate[];
  /** Fallback polls per payment of the webhook and of the thin webhook (the same schedule), counted, not run. */
  webhookFallbackPolls: number;
  /** The dropped-webhook column: fallback polls per payment (delivered and dropped), and the poll's work (ms) its lag adds. */
  dropped: { polls: number; pollWorkMs: number };
  longPolls: number;
  /** Long polling: seconds of a held connection per payment, and connections held at once at the rate. */
  heldS: number;
  heldAtOnce: number;
  cost: PollCost | null;
  breakEven: { polls: number; intervalMs: number | null; lagP95Ms: number | null };
}

export interface SweepAnalysis {
  rows: SweepRow[];
  /** Per rate: the short-poll runs the per-poll cost is fitted to (x polls per payment, y CPU ms per payment). */
  fits: {
    rate: number;
    points: { profile: ProfileKey; x: number; y: number }[];
    cost: PollCost | null;
    /** The cost is the fit over every rate's runs (this rate's alone gave none). */
    pooled: boolean;
  }[];
}

function costOf(points: { x: number; y: number }[]): PollCost | null {
  const line = fitLine(points);
  return line && line.slope > 0 ? { baseMs: line.intercept, perPollMs: line.slope } : null;
}

/** The sweep's verdicts from its runs (pure: the unit test feeds it runs). */
export function analyseSweep(record: SweepRecord): SweepAnalysis {
  const run = (profile: ProfileKey, rate: number, strategy: Strategy) =>
    record.runs.find((r) => r.profile === profile && r.rate === rate && r.strategy === strategy)?.result;
  const fits = record.rates.map((rate) => {
    const points = record.profiles.flatMap((p) => {
      const r = run(p.key, rate, 'short_polling');
      return r ? [{ profile: p.key, x: r.polls, y: cpuOf(r) }] : [];
    });
    return { rate, points, cost: costOf(points), pooled: false };
  });
  // A rate whose runs do not resolve a per-poll cost (few payments against /proc's 10 ms
  // ticks, or polls batched at a high rate) takes the slope fitted over every rate's runs
  // with its own base (each rate has its own fixed cost per payment), and says so.
  const common = fitCommonSlope(fits.map((f) => f.points));
  fits.forEach((f, i) => {
    if (!f.cost && common && common.slope > 0) {
      Object.assign(f, { cost: { baseMs: common.intercepts[i], perPollMs: common.slope }, pooled: true });
    }
  });
  const rows: SweepRow[] = [];
  for (const rate of record.rates) {
    const cost = fits.find((f) => f.rate === rate)?.cost ?? null;
    const longCards = run('cards', rate, 'long_polling');
    for (const profile of record.profiles) {
      const wh = run(profile.key, rate, 'webhook');
      const sp = run(profile.key, rate, 'short_polling');
      if (!wh || !sp) continue;
      const d = profile.settleMs;
      const webhookP95Ms = pct(wh.lagsMs, 95);
      const targetMs = lagTarget(webhookP95Ms, d);
      const fallback = expectedFallbackPolls(d, REAL_DEADLINE_MS);
      const perPoll = cost?.perPollMs ?? NaN;
      // Polls the run did not make (the fallback's, long polls beyond the measured ones), at the fitted cost each.
      const extra = (polls: number) => (Math.abs(polls) < 1e-9 ? 0 : polls * perPoll);
      const whCpu = cpuOf(wh) + extra(fallback);
      const candidates: SweepRow['candidates'] = [
        { strategy: 'webhook', lagP95Ms: webhookP95Ms, cpuMs: whCpu, requests: 1 + fallback },
      ];
      // Thin webhook + fetch: run like the webhook (its event, then one fetch: a poll), and the
      // same fallback polls counted for the slow profiles, whose runs settle before the deadline.
      const thin = run(profile.key, rate, 'thin_webhook');
      if (thin) {
        candidates.push({
          strategy: 'thin_webhook',
          lagP95Ms: pct(thin.lagsMs, 95),
          cpuMs: cpuOf(thin) + extra(fallback),
          requests: 1 + thin.polls + fallback,
        });
      }
      // Webhooks with DROP_SHARE dropped, derived (not run): the webhook run, plus the fallback
      // polls of the delivered payments (until they settle) and of the dropped ones (until a poll
      // finds them final) at the fitted cost; the dropped ones lag to the poll that finds them.
      const dropPolls = droppedMixPolls(d, REAL_DEADLINE_MS, DROP_SHARE);
      const pollWorkMs =
        sp.lagSamples.length > 0
          ? percentile(
              sp.lagSamples.map((x) => x.workMs),
              50,
            )
          : 0;
      candidates.push({
        strategy: 'webhook_dropped',
        lagP95Ms: droppedLagPercentile(d, REAL_DEADLINE_MS, DROP_SHARE, wh.lagsMs, pollWorkMs),
        cpuMs: cpuOf(wh) + extra(dropPolls),
        requests: 1 - DROP_SHARE + dropPolls,
        derived: true,
      });
      let interval = equalLagInterval(sp.lagSamples, targetMs);
      if (interval !== null && interval < MIN_INTERVAL_MS) interval = null;
      if (interval !== null && cost) {
        candidates.push({
          strategy: 'short_polling',
          lagP95Ms: shortPollLag(sp.lagSamples, interval),
          cpuMs: shortPollCpu(cost, d, interval),
          requests: expectedPolls(d, interval),
        });
      }
      const longPolls = expectedPolls(d, REAL_LONG_POLL_WAIT_MS);
      if (longCards) {
        candidates.push({
          strategy: 'long_polling',
          lagP95Ms: pct(longCards.lagsMs, 95),
          cpuMs: cpuOf(longCards) + extra(longPolls - longCards.polls),
          requests: longPolls,
        });
      }
      const be = cost ? breakEven(cost, whCpu, d) : { polls: NaN, intervalMs: null };
      rows.push({
        profile,
        rate,
        webhookP95Ms,
        targetMs,
        equalLagIntervalMs: interval,
        candidates,
        cheapest: cheapestAtLag(candidates, targetMs),
        tied: tiedAtLag(candidates, targetMs),
        webhookFallbackPolls: fallback,
        dropped: { polls: dropPolls, pollWorkMs },
        longPolls,
        heldS: mean(d) / 1000,
        heldAtOnce: (rate * mean(d)) / 1000,
        cost,
        breakEven: {
          ...be,
          lagP95Ms: be.intervalMs === null ? null : shortPollLag(sp.lagSamples, be.intervalMs),
        },
      });
    }
  }
  return { rows, fits };
}

/** A real duration: ms under 10 s, then s, then min. */
export function dur(v: number | null): string {
  if (v === null || !Number.isFinite(v)) return '–';
  if (v < 1000) return `${Math.round(v)} ms`;
  if (v < 120_000) return `${(v / 1000).toFixed(1)} s`;
  return `${(v / 60_000).toFixed(1)} min`;
}
const f1 = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '–');
const f2 = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '–');
const settle = (p: Profile) => `${dur(p.settleMs.min)}–${dur(p.settleMs.max)}`;

function verdict(row: SweepRow): string {
  const said = row.profile.sourceSays;
  if (!row.cheapest) return 'no strategy within the target';
  const got = row.cheapest.strategy as Column;
  const saidC = row.candidates.find((c) => c.strategy === said);
  const pool =
    got === 'long_polling' && row.heldAtOnce > DEFAULT_PSP_CLIENT_CONNECTIONS
      ? `; it holds ${Math.round(row.heldAtOnce)} connections at once: PSP_CLIENT_CONNECTIONS ` +
        `(default ${DEFAULT_PSP_CLIENT_CONNECTIONS}) must be at least that`
      : '';
  if (got === said) return `agrees: ${LABEL[got]} (${f1(row.cheapest.cpuMs)} ms)${pool}`;
  if (saidC && row.tied.includes(saidC)) {
    return `agrees within the noise: ${LABEL[said]} ${f1(saidC.cpuMs)} ms, ${LABEL[got]} ${f1(row.cheapest.cpuMs)} ms`;
  }
  const why = !saidC
    ? `${LABEL[said]} cannot reach ${dur(row.targetMs)}`
    : saidC.lagP95Ms > row.targetMs * (1 + LAG_TOLERANCE)
      ? `${LABEL[said]} lags ${dur(saidC.lagP95Ms)}`
      : `${LABEL[said]} ${f1(saidC.cpuMs)} ms`;
  const cheaperFrom =
    said === 'short_polling' && row.breakEven.intervalMs !== null
      ? ` (cheaper than the webhook from a ${dur(row.breakEven.intervalMs)} interval on, lagging ${dur(row.breakEven.lagP95Ms)})`
      : '';
  return `contradicts: ${LABEL[got]} ${f1(row.cheapest.cpuMs)} ms; ${why}${cheaperFrom}${pool}`;
}

const cheapestCell = (row: SweepRow) =>
  row.tied.length === 0
    ? '–'
    : row.tied.map((c, i) => (i === 0 ? LABEL[c.strategy as Column] : `≈ ${LABEL[c.strategy as Column]}`)).join(' ');

export function sweepTable(a: SweepAnalysis): string {
  const cand = (row: SweepRow, s: Column) => {
    const c = row.candidates.find((x) => x.strategy === s);
    return c ? `${f1(c.cpuMs)} ms · ${f2(c.requests)} req · ${dur(c.lagP95Ms)}` : '–';
  };
  return markdownTable([
    [
      'profile (settles in, real) · source says',
      'rate',
      'lag target: max(webhook p95, 10 % of shortest settlement)',
      'short-poll interval at that lag',
      'webhook: CPU · requests · lag p95 per payment',
      'short polling at that interval',
      'long polling (connection held per payment · at once)',
      'thin webhook + fetch',
      'webhooks, 30 % dropped + fallback — derived: webhook run + fallback polls × per-poll cost',
      'cheapest at equal lag',
      'break-even short-poll interval (its lag p95)',
      'vs the source material',
    ],
    ...a.rows.map((row) => [
      `${row.profile.name} (${settle(row.profile)}, ×${row.profile.scale}) · ${row.profile.adjective}`,
      `${row.rate}/s`,
      dur(row.targetMs),
      row.equalLagIntervalMs === null ? 'none reaches it' : dur(row.equalLagIntervalMs),
      cand(row, 'webhook') +
        (row.webhookFallbackPolls > 0.005 ? ` (${f2(row.webhookFallbackPolls)} fallback polls)` : ''),
      cand(row, 'short_polling'),
      `${cand(row, 'long_polling')} (${f1(row.heldS)} s · ${Math.round(row.heldAtOnce)})`,
      cand(row, 'thin_webhook') +
        (row.webhookFallbackPolls > 0.005 && row.candidates.some((c) => c.strategy === 'thin_webhook')
          ? ` (${f2(row.webhookFallbackPolls)} fallback polls)`
          : ''),
      `derived: ${cand(row, 'webhook_dropped')} (${f2(row.dropped.polls)} fallback polls)`,
      cheapestCell(row),
      !row.cost
        ? '– (no per-poll cost: see the fit)'
        : row.breakEven.intervalMs === null
          ? 'none: one poll costs what the webhook does'
          : `${dur(row.breakEven.intervalMs)} (${dur(row.breakEven.lagP95Ms)})`,
      verdict(row),
    ]),
  ]);
}

export function fitTable(record: SweepRecord, a: SweepAnalysis): string {
  const every = (key: ProfileKey) =>
    dur(record.intervalMs * (record.profiles.find((p) => p.key === key)?.scale ?? NaN));
  return markdownTable([
    [
      'rate',
      'short-poll runs: profile (interval, real) polls per payment → CPU ms per payment',
      'fitted: base + per poll (CPU ms)',
    ],
    ...a.fits.map((f) => [
      `${f.rate}/s`,
      f.points.map((p) => `${p.profile} (${every(p.profile)}) ${f2(p.x)} → ${f1(p.y)}`).join(' · '),
      f.cost
        ? `${f2(f.cost.baseMs)} + ${f2(f.cost.perPollMs)} × polls` +
          (f.pooled ? ' (per poll: the slope over both rates; this rate alone shows none above the noise)' : '')
        : 'no positive per-poll cost above the noise',
    ]),
  ]);
}

export function sweepChart(a: SweepAnalysis): string {
  const cpu = (row: SweepRow, s: Column) => row.candidates.find((c) => c.strategy === s)?.cpuMs ?? NaN;
  return barChart({
    title: 'Suitable for: CPU ms per payment at equal lag (the profile’s target), per settlement profile and rate',
    unit: 'ms',
    // The dropped-webhook column is left out: derived, and never at equal lag where it lags.
    series: ['webhook', 'short polling at equal lag', 'long polling', 'thin webhook + fetch'],
    bars: a.rows.map((row) => ({
      label: `${row.profile.name} @ ${row.rate}/s`,
      values: [cpu(row, 'webhook'), cpu(row, 'short_polling'), cpu(row, 'long_polling'), cpu(row, 'thin_webhook')],
    })),
    format: (v) => v.toFixed(1),
  });
}

/** The seed table's "suitable for" cells, per column name of seedTable. */
export function suitableCells(a: SweepAnalysis): Record<string, string> {
  const wins = (s: Column) => {
    const rows = a.rows.filter((r) => r.tied.some((c) => c.strategy === s));
    return rows.length === 0
      ? `cheapest at equal lag in none of ${a.rows.length} cases`
      : `cheapest at equal lag (or within ${COST_TOLERANCE * 100} %) for ` +
          rows.map((r) => `${r.profile.key} @ ${r.rate}/s`).join(', ');
  };
  const top = Math.max(...a.rows.map((r) => r.rate));
  const breakEvens = a.rows
    .filter((r) => r.rate === top)
    .map((r) => `${r.profile.key} ${r.breakEven.intervalMs === null ? 'none' : dur(r.breakEven.intervalMs)}`)
    .join(' · ');
  const held = a.rows
    .filter((r) => r.rate === top)
    .map((r) => `${r.profile.key} ${Math.round(r.heldAtOnce)}`)
    .join(' · ');
  const dropped = (r: SweepRow) => r.candidates.find((c) => c.strategy === 'webhook_dropped');
  const droppedLags = a.rows
    .filter((r) => r.rate === top)
    .map((r) => `${r.profile.key} ${dur(dropped(r)?.lagP95Ms ?? NaN)} (target ${dur(r.targetMs)})`)
    .join(' · ');
  const droppedWins = a.rows.some((r) => r.tied.some((c) => c.strategy === 'webhook_dropped'));
  const within = a.rows.filter((r) => {
    const c = dropped(r);
    return c && c.lagP95Ms <= r.targetMs * (1 + LAG_TOLERANCE);
  });
  return {
    short_polling: `${wins('short_polling')}; break-even interval at ${top}/s: ${breakEvens}`,
    long_polling: `${wins('long_polling')}; connections held at once at ${top}/s: ${held}`,
    webhook: wins('webhook'),
    'webhook, 30 % dropped + fallback':
      `derived from the webhook run and the fitted per-poll cost (${DROP_SHARE * 100} % of webhooks dropped): ` +
      (droppedWins
        ? wins('webhook_dropped')
        : within.length === 0
          ? 'never at equal lag'
          : `within the lag target for ${within.map((r) => `${r.profile.key} @ ${r.rate}/s`).join(', ')} but never the cheapest`) +
      `; lag p95 at ${top}/s: ${droppedLags}`,
    'thin webhook + fetch': wins('thin_webhook'),
  };
}

export function sweepSection(record: SweepRecord, a: SweepAnalysis, dir: string): string {
  return [
    '### Suitable for: settlement profiles × payment rates',
    '',
    `The sweep: ${record.runs.length} runs in ${record.durationS} s, separate processes, ` +
      `${record.rates.map((r) => `${r}/s`).join(' and ')} for ${record.arrivalS} s each, ` +
      `SHORT_POLL_INTERVAL_MS ${record.intervalMs} in run time. ` +
      'Times are real (unscaled): ×N is the profile’s time scale. CPU is PSP + shop per payment; ' +
      'requests are the shop ↔ PSP calls per payment beyond creating it; lag p95 from settling to the order being final. ' +
      `Lags within ${LAG_TOLERANCE * 100} % of the target count as equal, CPU within ${COST_TOLERANCE * 100} % ` +
      'of the cheapest as a tie (≈). The thin webhook is run like the webhook; the dropped-webhook column is ' +
      `derived, not run: the webhook run plus the fallback polls with ${DROP_SHARE * 100} % of webhooks dropped ` +
      'at the fitted per-poll cost, its lag p95 from the fallback schedule.',
    '',
    sweepTable(a),
    '',
    fitTable(record, a),
    '',
    `![suitable for](${dir}/suitable-for.svg)`,
  ].join('\n');
}

/** The sweep's verdicts of the run before beside this one's (the page's side-by-side). */
export function sweepSideBySide(previous: SweepAnalysis, current: SweepAnalysis): string {
  const rows = [
    [
      'profile · rate',
      'cheapest at equal lag: before → now',
      'break-even short-poll interval: before → now',
      'webhook CPU ms per payment: before → now',
    ],
  ];
  for (const r of current.rows) {
    const p = previous.rows.find((x) => x.profile.key === r.profile.key && x.rate === r.rate);
    if (!p) continue;
    const webhook = (x: SweepRow) => f1(x.candidates.find((c) => c.strategy === 'webhook')?.cpuMs ?? NaN);
    rows.push([
      `${r.profile.name} · ${r.rate}/s`,
      `${cheapestCell(p)} → ${cheapestCell(r)}`,
      `${dur(p.breakEven.intervalMs)} → ${dur(r.breakEven.intervalMs)}`,
      `${webhook(p)} → ${webhook(r)}`,
    ]);
  }
  return rows.length > 1 ? markdownTable(rows) : '';
}
