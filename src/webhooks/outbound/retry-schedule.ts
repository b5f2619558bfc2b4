/**
 * Durations written as people write them (`500ms`, `5s`, `5m`, `2h`, `5d`) and the
 * retry schedule of outbound deliveries built from a list of them.
 */
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION = /^(\d+)(ms|s|m|h|d)$/;

export const DURATION_PATTERN = /^\d+(ms|s|m|h|d)$/;
export const DURATION_LIST_PATTERN = /^\s*\d+(ms|s|m|h|d)\s*(,\s*\d+(ms|s|m|h|d)\s*)*$/;

/** `90s` → 90000; throws on anything else. */
export function parseDuration(text: string): number {
  const m = DURATION.exec(text.trim());
  if (!m) throw new Error(`"${text}" is not a duration such as 500ms, 5s, 5m, 2h or 5d`);
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

/** 30 days → `30d`, 90 s → `90s`, 1500 ms → `1500ms`: the largest unit that divides it. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

export function parseDurationList(text: string): number[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(parseDuration);
}

/** Share of each step drawn at random either way (Svix: ±20 %). */
export const RETRY_JITTER = 0.2;

/**
 * When to try again after a failed attempt. The schedule lists the waits after the
 * 1st, 2nd, … failure; a delivery gets 1 + schedule.length attempts in all.
 */
export class RetrySchedule {
  /**
   * `retryAfterCeiling`: the longest wait a Retry-After may ask for after a step
   * (default twice the step).
   */
  constructor(
    readonly stepsMs: readonly number[],
    private readonly retryAfterCeiling: (stepMs: number) => number = (stepMs) => 2 * stepMs,
  ) {}

  static parse(text: string): RetrySchedule {
    return new RetrySchedule(parseDurationList(text));
  }

  /**
   * Exponential: base, 2·base, 4·base … for `attempts` attempts in all; a Retry-After
   * is honoured up to `maxRetryAfterMs` whatever the step (the PSP mock's sender).
   */
  static exponential(attempts: number, baseMs: number, maxRetryAfterMs: number): RetrySchedule {
    return new RetrySchedule(
      Array.from({ length: Math.max(0, attempts - 1) }, (_, i) => baseMs * 2 ** i),
      () => maxRetryAfterMs,
    );
  }

  get maxAttempts(): number {
    return this.stepsMs.length + 1;
  }

  /**
   * The wait after failed attempt number `attempt` (1-based), or null when that was
   * the last. With a Retry-After (429/503), the wait is that, clamped between the
   * step and the ceiling (twice the step by default): the receiver may slow us down,
   * within reason, never speed us up.
   */
  nextDelayMs(attempt: number, retryAfterMs: number | null = null, random: () => number = Math.random): number | null {
    const step = this.stepsMs[attempt - 1];
    if (step === undefined) return null;
    if (retryAfterMs !== null)
      return Math.min(Math.max(retryAfterMs, step), Math.max(step, this.retryAfterCeiling(step)));
    return Math.round(step * (1 - RETRY_JITTER + 2 * RETRY_JITTER * random()));
  }
}
