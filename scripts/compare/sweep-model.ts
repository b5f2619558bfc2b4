// The arithmetic of the "suitable for" sweep (scripts/compare/sweep.ts), kept pure so that a
// unit test checks it: expected poll counts over a settlement profile, the per-poll cost
// fitted from the measured runs, the short-poll interval that reaches a lag target, the
// break-even interval against the webhook, and the cheapest strategy at equal lag.
// Every time here is in real (unscaled) milliseconds.

/** A settlement delay drawn uniformly from [min, max] ms, as the PSP mock draws it. */
export interface Uniform {
  min: number;
  max: number;
}

export const mean = (d: Uniform) => (d.min + d.max) / 2;

/** P(D > t) for D uniform on [min, max]. */
export function survival(d: Uniform, t: number): number {
  if (t < d.min) return 1;
  if (t >= d.max) return 0;
  return (d.max - t) / (d.max - d.min);
}

/**
 * Expected polls per payment when a poll is made at each of `times` (ascending, from the
 * payment's acceptance) as long as the payment had not settled when the previous one was
 * made: a poll at times[n] is made iff D > times[n-1] (the first one always).
 */
function expectedPollsAt(d: Uniform, times: (n: number) => number): number {
  let sum = 1;
  for (let n = 1; n < 100_000; n++) {
    const p = survival(d, times(n - 1));
    if (p === 0) break;
    sum += p;
  }
  return sum;
}

/**
 * Short polling every `intervalMs`: polls at I, 2I, 3I … until one finds the payment
 * final, i.e. E[⌈D / I⌉]. Long polling is the same with I = LONG_POLL_WAIT_S (each poll is
 * held until the payment settles or the wait ends; its first one starts at once).
 */
export function expectedPolls(d: Uniform, intervalMs: number): number {
  if (!(intervalMs > 0)) throw new Error('interval must be positive');
  return expectedPollsAt(d, (n) => (n + 1) * intervalMs);
}

/** The fallback poll's times after acceptance: the deadline, then backing off 1 s, 2 s, 4 s … at most 60 s. */
export function fallbackPollTimes(deadlineMs: number, count: number): number[] {
  const out: number[] = [];
  let t = deadlineMs;
  for (let n = 1; n <= count; n++) {
    out.push(t);
    t += Math.min(1000 * 2 ** (n - 1), 60_000);
  }
  return out;
}

/**
 * Fallback polls per webhook payment whose webhook arrives when it settles: one at each
 * fallback time before D (src/payments/polling/payment-polling.service.ts backoffMs).
 */
export function expectedFallbackPolls(d: Uniform, deadlineMs: number): number {
  let sum = 0;
  let t = deadlineMs;
  for (let n = 1; n < 100_000; n++) {
    const p = survival(d, t);
    if (p === 0) break;
    sum += p;
    t += Math.min(1000 * 2 ** (n - 1), 60_000);
  }
  return sum;
}

/**
 * Fallback polls a payment whose webhook is dropped makes: one at each fallback time before
 * D (as a delivered webhook's payment does meanwhile) and the one after D that finds it final,
 * i.e. 1 + Σₙ P(D > tₙ).
 */
export const droppedPaymentPolls = (d: Uniform, deadlineMs: number) => 1 + expectedFallbackPolls(d, deadlineMs);

/**
 * Fallback polls per payment when a share of the webhooks is dropped: the delivered ones'
 * (polled until they settle) and the dropped ones' (polled until a poll finds them final).
 */
export const droppedMixPolls = (d: Uniform, deadlineMs: number, share: number) =>
  (1 - share) * expectedFallbackPolls(d, deadlineMs) + share * droppedPaymentPolls(d, deadlineMs);

/**
 * P(T(D) − D ≤ y): the share of dropped-webhook payments whose lag from settling to the
 * fallback poll that finds them final, T(D) the first fallback time at or after D, is at
 * most y.
 */
export function droppedLagCdf(d: Uniform, deadlineMs: number, y: number): number {
  if (y < 0) return 0;
  let prev = -Infinity;
  let t = deadlineMs;
  if (d.max <= d.min) {
    for (let n = 1; t < d.min; n++) t += Math.min(1000 * 2 ** (n - 1), 60_000);
    return t - d.min <= y ? 1 : 0;
  }
  let inside = 0;
  for (let n = 1; prev < d.max && n < 100_000; n++) {
    // D in (prev, t] is found by the poll at t: lag t − D ≤ y iff D ≥ t − y.
    const lo = Math.max(prev, t - y, d.min);
    const hi = Math.min(t, d.max);
    if (hi > lo) inside += hi - lo;
    prev = t;
    t += Math.min(1000 * 2 ** (n - 1), 60_000);
  }
  return inside / (d.max - d.min);
}

/**
 * The p-th percentile lag of webhooks with a share dropped: the delivered ones lag as the
 * measured webhook lags, the dropped ones T(D) − D (droppedLagCdf) plus `workMs`, the poll's
 * pick-up, GET and apply. The smallest x whose mixed share of lags ≤ x reaches p %.
 */
export function droppedLagPercentile(
  d: Uniform,
  deadlineMs: number,
  share: number,
  webhookLagsMs: number[],
  workMs: number,
  p = 95,
): number {
  if (webhookLagsMs.length === 0) return NaN;
  const cdf = (x: number) =>
    (1 - share) * (webhookLagsMs.filter((l) => l <= x).length / webhookLagsMs.length) +
    share * droppedLagCdf(d, deadlineMs, x - workMs);
  const want = p / 100;
  if (cdf(0) >= want) return 0;
  let lo = 0;
  let hi = Math.max(...webhookLagsMs) + workMs + Math.max(d.max, deadlineMs) + 60_000;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (cdf(mid) >= want) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** Least squares y = intercept + slope·x; null when the x do not differ. */
export function fitLine(points: { x: number; y: number }[]): { slope: number; intercept: number } | null {
  const n = points.length;
  if (n < 2) return null;
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  const sxx = points.reduce((a, p) => a + (p.x - mx) ** 2, 0);
  if (sxx < 1e-9) return null;
  const slope = points.reduce((a, p) => a + (p.x - mx) * (p.y - my), 0) / sxx;
  return { slope, intercept: my - slope * mx };
}

/**
 * One slope over several groups of points, each group with its own intercept (the groups
 * differ in a fixed cost, e.g. the payment rate, not in the slope): null when no group's x
 * differ.
 */
export function fitCommonSlope(groups: { x: number; y: number }[][]): { slope: number; intercepts: number[] } | null {
  let sxy = 0;
  let sxx = 0;
  const means = groups.map((g) => {
    const mx = g.reduce((a, p) => a + p.x, 0) / (g.length || 1);
    const my = g.reduce((a, p) => a + p.y, 0) / (g.length || 1);
    for (const p of g) {
      sxy += (p.x - mx) * (p.y - my);
      sxx += (p.x - mx) ** 2;
    }
    return { mx, my };
  });
  if (sxx < 1e-9) return null;
  const slope = sxy / sxx;
  return { slope, intercepts: means.map((m) => m.my - slope * m.mx) };
}

/** Nearest-rank percentile of unsorted values. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/**
 * One short-poll-resolved payment's lag, split at the poll that found it final: `u`, the
 * share of the interval between settling and that poll falling due (0–1: scales with the
 * interval), and `workMs`, from then to the order being final (the scheduler's pick-up, the
 * GET, applying the result: does not).
 */
export interface LagSample {
  u: number;
  workMs: number;
}

/** The p-th percentile lag of short polling every `intervalMs`, from the measured samples. */
export function shortPollLag(samples: LagSample[], intervalMs: number, p = 95): number {
  return percentile(
    samples.map((s) => s.u * intervalMs + s.workMs),
    p,
  );
}

/** Solves a nondecreasing f(x) = y on [lo, hi] by bisection. */
function solveIncreasing(f: (x: number) => number, y: number, lo: number, hi: number): number {
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (f(mid) < y) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * The longest short-poll interval whose p-th percentile lag stays within `targetMs`; null
 * when even an interval of 0 misses it (the fixed part alone is longer).
 */
export function equalLagInterval(samples: LagSample[], targetMs: number, p = 95, maxMs = 3_600_000): number | null {
  if (samples.length === 0 || shortPollLag(samples, 0, p) > targetMs) return null;
  if (shortPollLag(samples, maxMs, p) <= targetMs) return maxMs;
  return solveIncreasing((i) => shortPollLag(samples, i, p), targetMs, 0, maxMs);
}

/** Short polling's cost per payment: fixed part plus a cost per poll times the polls. */
export interface PollCost {
  /** CPU ms per payment besides its polls (PSP + shop). */
  baseMs: number;
  /** CPU ms per poll (PSP + shop). */
  perPollMs: number;
}

export const shortPollCpu = (cost: PollCost, d: Uniform, intervalMs: number) =>
  cost.baseMs + cost.perPollMs * expectedPolls(d, intervalMs);

/**
 * The break-even short-poll interval: where short polling's CPU per payment equals the
 * webhook's, i.e. E[⌈D / I⌉] = (webhookMs − baseMs) / perPollMs. Longer intervals cost less
 * than the webhook (and lag more). `polls` is that right-hand side; `intervalMs` null when
 * it is at most 1 (one poll per payment already costs what the webhook does) or the fit has
 * no positive per-poll cost.
 */
export function breakEven(cost: PollCost, webhookMs: number, d: Uniform): { polls: number; intervalMs: number | null } {
  if (!(cost.perPollMs > 0)) return { polls: NaN, intervalMs: null };
  const polls = (webhookMs - cost.baseMs) / cost.perPollMs;
  if (!(polls > 1)) return { polls, intervalMs: null };
  // expectedPolls falls as the interval grows (to 1 when I ≥ max): solve −E[⌈D/I⌉] = −polls.
  const intervalMs = solveIncreasing((i) => -expectedPolls(d, i), -polls, 1, Math.max(d.max, 1) * 2);
  return { polls, intervalMs };
}

export interface Candidate {
  strategy: string;
  lagP95Ms: number;
  cpuMs: number;
}

/** Lags within this share of the target count as equal: the run-to-run noise of a p95. */
export const LAG_TOLERANCE = 0.1;

/** The cheapest (CPU per payment) of the candidates whose p95 lag is within the target; null if none. */
export function cheapestAtLag(candidates: Candidate[], targetMs: number): Candidate | null {
  const eligible = candidates.filter((c) => Number.isFinite(c.cpuMs) && c.lagP95Ms <= targetMs * (1 + LAG_TOLERANCE));
  if (eligible.length === 0) return null;
  return eligible.reduce((best, c) => (c.cpuMs < best.cpuMs ? c : best));
}

/**
 * CPU per payment within this share of the cheapest counts as a tie: the run-to-run noise of
 * the figure (the page's "run before" table moves it by 3–25 %).
 */
export const COST_TOLERANCE = 0.15;

/** The candidates within the lag target whose CPU is within COST_TOLERANCE of the cheapest's (the cheapest first). */
export function tiedAtLag(candidates: Candidate[], targetMs: number): Candidate[] {
  const best = cheapestAtLag(candidates, targetMs);
  if (!best) return [];
  return [
    best,
    ...candidates.filter(
      (c) =>
        c !== best &&
        Number.isFinite(c.cpuMs) &&
        c.lagP95Ms <= targetMs * (1 + LAG_TOLERANCE) &&
        c.cpuMs <= best.cpuMs * (1 + COST_TOLERANCE),
    ),
  ];
}
