// What a scenario reports, the summary table and reports/bench.json.

import type pg from 'pg';
import type { BenchConfig } from './stack.js';

export interface Row {
  scenario: string;
  subject: string;
  /** The headline rate: requests/s, events/s or deliveries/s. */
  rate?: number;
  rateUnit?: string;
  /** This row's rate over its baseline's, where it has one. */
  ratio?: number;
  ratioOf?: string;
  p50Ms?: number;
  p95Ms?: number;
  p99Ms?: number;
  non2xx?: number;
  /** CPU µs per request/event: the server under test, PostgreSQL, Redis. */
  cpuServerUs?: number;
  cpuPgUs?: number;
  cpuRedisUs?: number;
  note?: string;
  /** Every round's figures, for the JSON report. */
  rounds?: unknown[];
}

export interface Target {
  scenario: string;
  goal: string;
  measured: string;
  met: boolean | null;
  /**
   * The figures the target is judged on, by name. With `judge`, `npm run bench -- --runs N`
   * judges the target on the median of each figure over the runs (build it with `target()`).
   * A target without them is met on the runs only if every run met it.
   */
  values?: Record<string, number>;
  judge?: (values: Record<string, number>) => { measured: string; met: boolean };
  /** On a target judged over several runs: the runs (1-based) that missed it on their own. */
  missedRuns?: number[];
}

/** A target judged on named figures, so that several runs can be judged on their medians. */
export function target(
  scenario: string,
  goal: string,
  values: Record<string, number>,
  judge: (values: Record<string, number>) => { measured: string; met: boolean },
): Target {
  return { scenario, goal, values, judge, ...judge(values) };
}

/** What a bare node:http server that only verifies the HMAC answers, req/s, on the host the targets were set for (docs/decisions/0019). */
export const HOST_REFERENCE_RPS = 20_000;

export interface BenchContext {
  cfg: BenchConfig;
  quick: boolean;
  rounds: number;
  durationMs: number;
  warmupMs: number;
  connections: number;
  admin: pg.Client;
  db: pg.Client;
  dbName: string;
  rows: Row[];
  targets: Target[];
  /** This run's number (1-based) and how many runs the invocation makes (`--runs`). */
  run: number;
  runs: number;
  /**
   * Host speed: the bare HMAC server's req/s measured at the start of this run (`hostRps`)
   * ÷ HOST_REFERENCE_RPS (20,000), or `--host-factor`. The absolute figures are for a
   * host of factor 1: a scenario that offers a fixed rate offers `rate × hostFactor`, and an
   * absolute CPU budget per operation becomes `budget ÷ hostFactor` (a host half as fast spends
   * twice the CPU on the same work). Say the factor used in the row or target it scaled.
   */
  hostFactor: number;
  /** The bare HMAC server's req/s behind `hostFactor` (undefined when `--host-factor` set it). */
  hostRps?: number;
  /** Hookline's median ingest rate (scenario 1), which later scenarios scale their load by. */
  ingestRps?: number;
  /** Events per inbox job the receiver left under that load (scenario 1), which the drain enqueues alike. */
  inboxRowsPerJob?: number;
  log: (msg: string) => void;
  /**
   * VACUUM (ANALYZE) of the bench database, outside every measured window: what autovacuum
   * would have done between rounds on a server that runs it. Resolves with its duration, ms.
   */
  settle: () => Promise<number>;
  /** Extra node flags for a Hookline process under load (--cpu-prof with --cpu-prof), by its name. */
  nodeArgs: (name: string) => string[];
}

export interface Scenario {
  name: string;
  run(ctx: BenchContext): Promise<void>;
}

export function median(xs: number[]): number {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

const fmt = (x: number | undefined, digits = 0): string =>
  x === undefined || !Number.isFinite(x)
    ? ''
    : x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** The rows as a Markdown table (which also reads well on a terminal). */
export function table(rows: Row[]): string {
  const header = [
    'scenario',
    'subject',
    'rate (median)',
    'ratio',
    'p50 ms',
    'p95 ms',
    'p99 ms',
    'non-2xx',
    'CPU µs/req server · PG · Redis',
    'note',
  ];
  const lines = rows.map((r) => [
    r.scenario,
    r.subject,
    r.rate === undefined ? '' : `${fmt(r.rate)} ${r.rateUnit ?? 'req/s'}`,
    r.ratio === undefined ? '' : `${fmt(r.ratio, 2)}× ${r.ratioOf ?? ''}`.trim(),
    fmt(r.p50Ms, 1),
    fmt(r.p95Ms, 1),
    fmt(r.p99Ms, 1),
    r.non2xx === undefined ? '' : String(r.non2xx),
    r.cpuServerUs === undefined ? '' : `${fmt(r.cpuServerUs)} · ${fmt(r.cpuPgUs)} · ${fmt(r.cpuRedisUs)}`,
    r.note ?? '',
  ]);
  return markdown(header, lines);
}

export function targetTable(targets: Target[]): string {
  const overRuns = targets.some((t) => t.missedRuns !== undefined);
  const met = (t: Target) => (t.met === null ? 'not measured' : t.met ? 'yes' : 'NO');
  return overRuns
    ? markdown(
        ['scenario', 'target', 'measured (median of the runs)', 'met', 'runs that missed'],
        targets.map((t) => [t.scenario, t.goal, t.measured, met(t), t.missedRuns?.join(', ') || 'none']),
      )
    : markdown(
        ['scenario', 'target', 'measured', 'met'],
        targets.map((t) => [t.scenario, t.goal, t.measured, met(t)]),
      );
}

function markdown(header: string[], lines: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const row = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [row(header), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...lines.map(row)].join('\n');
}
