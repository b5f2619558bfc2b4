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
}

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
  return markdown(
    ['scenario', 'target', 'measured', 'met'],
    targets.map((t) => [t.scenario, t.goal, t.measured, t.met === null ? 'not measured' : t.met ? 'yes' : 'NO']),
  );
}

function markdown(header: string[], lines: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const row = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [row(header), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...lines.map(row)].join('\n');
}
