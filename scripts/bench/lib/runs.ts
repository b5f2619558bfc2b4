// Several full runs in one invocation (`npm run bench -- --runs 3`): the table of the
// median of the runs, row by row, and the targets judged on those medians. A target is
// met only if the median meets it; the runs that missed it on their own are listed.

import { median, type Row, type Target } from './report.js';

export interface RunResult {
  run: number;
  hostFactor: number;
  hostRps?: number;
  rows: Row[];
  targets: Target[];
}

const NUMERIC = ['rate', 'ratio', 'p50Ms', 'p95Ms', 'p99Ms', 'cpuServerUs', 'cpuPgUs', 'cpuRedisUs'] as const;

/** Rows are matched by scenario and position within it: the same scenarios push the same rows each run. */
function byScenario<T extends { scenario: string }>(items: T[]): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) m.set(it.scenario, [...(m.get(it.scenario) ?? []), it]);
  return m;
}

function matched<T extends { scenario: string }>(runs: T[][]): T[][] {
  const grouped = runs.map(byScenario);
  const out: T[][] = [];
  for (const [scenario, first] of grouped[0]) {
    first.forEach((_, i) => out.push(grouped.map((g) => g.get(scenario)?.[i]).filter((x): x is T => !!x)));
  }
  return out;
}

const fmtRate = (x: number | undefined) =>
  x === undefined || !Number.isFinite(x) ? '–' : x.toLocaleString('en-US', { maximumFractionDigits: 0 });

export function medianRows(runs: RunResult[]): Row[] {
  return matched(runs.map((r) => r.rows)).map((same) => {
    const row: Row = { scenario: same[0].scenario, subject: same[0].subject, rateUnit: same[0].rateUnit };
    for (const k of NUMERIC) {
      const xs = same.map((r) => r[k]).filter((x): x is number => x !== undefined);
      if (xs.length > 0) row[k] = median(xs);
    }
    row.ratioOf = same[0].ratioOf;
    if (same.some((r) => r.non2xx !== undefined)) row.non2xx = same.reduce((s, r) => s + (r.non2xx ?? 0), 0);
    // The note of the run whose rate is the median (the middle one of an odd count), with every run's rate.
    const sorted = same
      .map((r, i) => ({ r, i }))
      .filter((x) => x.r.rate !== undefined)
      .sort((a, b) => a.r.rate! - b.r.rate!);
    const mid = sorted[Math.floor((sorted.length - 1) / 2)];
    const rates = same.some((r) => r.rate !== undefined)
      ? `runs: ${same.map((r) => fmtRate(r.rate)).join(' · ')} ${same[0].rateUnit ?? 'req/s'}`
      : '';
    const note = mid?.r.note ? `run ${runs[mid.i].run}: ${mid.r.note}` : '';
    row.note = [rates, note].filter(Boolean).join('; ');
    row.rounds = same.map((r) => ({ subject: r.subject, rate: r.rate, p50Ms: r.p50Ms, p99Ms: r.p99Ms }));
    return row;
  });
}

export function medianTargets(runs: RunResult[]): Target[] {
  return matched(runs.map((r) => r.targets)).map((same) => {
    const missedRuns = same.flatMap((t, i) => (t.met === false ? [runs[i].run] : []));
    const first = same[0];
    if (first.judge && same.every((t) => t.values)) {
      const values: Record<string, number> = {};
      for (const k of Object.keys(first.values!)) values[k] = median(same.map((t) => t.values![k]));
      const judged = first.judge(values);
      return { scenario: first.scenario, goal: first.goal, values, ...judged, missedRuns };
    }
    // Nothing to take a median of: met only if every run met it.
    return {
      scenario: first.scenario,
      goal: first.goal,
      measured: same.map((t, i) => `run ${runs[i].run}: ${t.measured}`).join('; '),
      met: same.some((t) => t.met === null) ? null : same.every((t) => t.met),
      missedRuns,
    };
  });
}
