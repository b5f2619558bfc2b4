import type { Logger } from '@nestjs/common';
import type { SchedulerRegistry } from '@nestjs/schedule';
import { RETENTION_INTERVAL_MS } from '../db/delete-in-batches.js';

export interface PeriodicSchedule {
  /** Name in the SchedulerRegistry: shutdown clears every registered interval and timeout. */
  name: string;
  everyMs: number;
  /** The first run, this long after `start` (default `everyMs`); then every `everyMs`. */
  firstAfterMs?: number;
}

/**
 * A task a process runs on a timer, one run at a time: a run still going when the next
 * is due makes that one a no-op, and a failure is logged (`<what> failed: …`) and left
 * to the next run. Registered with the SchedulerRegistry because its timing is
 * configured (a static `@Interval` cannot read the config), so shutdown stops it.
 */
export class PeriodicTask {
  private running = false;
  /** startAdaptive's "run by this time (epoch ms)": set once it has started. */
  private runBy?: (at: number) => void;
  /** The earliest time a wakeBy() during a run asked for (Infinity: none); the next run comes by then. */
  private wakeRequestedAt = Infinity;

  constructor(
    private readonly what: string,
    private readonly logger: Logger,
    private readonly task: () => Promise<unknown>,
  ) {}

  start(scheduler: SchedulerRegistry, { name, everyMs, firstAfterMs = everyMs }: PeriodicSchedule): void {
    const every = () =>
      scheduler.addInterval(
        name,
        setInterval(() => void this.run(), everyMs),
      );
    if (firstAfterMs === everyMs) return every();
    const first = `${name}:first`;
    scheduler.addTimeout(
      first,
      setTimeout(() => {
        scheduler.deleteTimeout(first);
        every();
        void this.run();
      }, firstAfterMs),
    );
  }

  /**
   * Runs the task `firstAfterMs` after `start`, then again as long after each run as the
   * run answered (ms; `retryAfterMs` after a failure): a task that knows when it next has
   * work sleeps until then instead of waking on a fixed tick to find nothing.
   */
  startAdaptive(
    scheduler: SchedulerRegistry,
    { name, firstAfterMs, retryAfterMs }: { name: string; firstAfterMs: number; retryAfterMs: number },
  ): void {
    let current: ReturnType<typeof setTimeout> | undefined;
    /** When the armed timer fires (epoch ms). */
    let firesAt = Infinity;
    const armed = () => scheduler.getTimeouts().includes(name) && scheduler.getTimeout(name) === current;
    const arm = (ms: number) => {
      const timer = setTimeout(() => {
        this.wakeRequestedAt = Infinity;
        void this.attempt().then((next) => {
          // Shutdown deleted the timeout while the run went on: no next run.
          if (armed() && current === timer) {
            scheduler.deleteTimeout(name);
            const wait = typeof next === 'number' && Number.isFinite(next) ? Math.max(0, next) : retryAfterMs;
            arm(Math.min(wait, Math.max(0, this.wakeRequestedAt - Date.now())));
          }
        });
      }, ms);
      current = timer;
      firesAt = Date.now() + ms;
      scheduler.addTimeout(name, timer);
    };
    this.runBy = (at: number) => {
      if (this.running) {
        this.wakeRequestedAt = Math.min(this.wakeRequestedAt, at);
      } else if (armed() && firesAt > at) {
        scheduler.deleteTimeout(name); // clears the sleeping timer
        arm(Math.max(0, at - Date.now()));
      }
    };
    arm(firstAfterMs);
  }

  /**
   * For a task started with startAdaptive: run now rather than at the end of the sleep the
   * last run asked for (work came in that it could not see then); during a run, the next run
   * comes as soon as this one ends. A no-op before start and after shutdown.
   */
  wake(): void {
    this.runBy?.(Date.now());
  }

  /**
   * For a task started with startAdaptive: the next run comes by `at` (epoch ms) — sooner
   * than the sleep the last run asked for when that ends later; a no-op when the next run
   * is due by then anyway. During a run, the next run comes by `at` (at once if past).
   */
  wakeBy(at: number): void {
    this.runBy?.(at);
  }

  /** One run now, unless one is running (then it returns at once). Never throws. */
  async run(): Promise<void> {
    await this.attempt();
  }

  /** One run, resolving with what the task answered (undefined when it failed or one was running). */
  private async attempt(): Promise<unknown> {
    if (this.running) return undefined;
    this.running = true;
    try {
      return await this.task();
    } catch (err) {
      this.logger.error(`${this.what} failed: ${(err as Error).message}`);
      return undefined;
    } finally {
      this.running = false;
    }
  }
}

/**
 * Housekeeping (the retentions, the Idempotency-Key purge): `delayMs` (HOUSEKEEPING_DELAY_MS)
 * after boot, then every 15 min (docs/decisions/0010-housekeeping-delay.md).
 */
export function housekeepingSchedule(name: string, delayMs: number): PeriodicSchedule {
  return { name, everyMs: RETENTION_INTERVAL_MS, firstAfterMs: delayMs };
}
