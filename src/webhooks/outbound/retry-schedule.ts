import { parseDurationList } from '../../common/duration.js';
import { MAX_DELIVERY_WAIT_MS } from '../../config/bounds.js';

// The retry schedule of outbound deliveries, built from a list of durations (common/duration.ts).

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
    // Never more than MAX_DELIVERY_WAIT_MS: the wait is written as int4 ms and used as a Bull delay.
    if (retryAfterMs !== null)
      return Math.min(Math.max(retryAfterMs, step), Math.max(step, this.retryAfterCeiling(step)), MAX_DELIVERY_WAIT_MS);
    return Math.min(Math.round(step * (1 - RETRY_JITTER + 2 * RETRY_JITTER * random())), MAX_DELIVERY_WAIT_MS);
  }
}
