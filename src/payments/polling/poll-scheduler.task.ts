import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { PeriodicTask } from '../../common/schedule/periodic-task.js';
import { PaymentsRepository } from '../payments.repository.js';
import { PaymentPollingService } from './payment-polling.service.js';

/** After a round that claimed due polls, the next look: bounds the extra delay of a poll that falls due meanwhile. */
export const POLL_TICK_MS = 250;
/**
 * The longest the scheduler sleeps when no poll is due: a poll scheduled meanwhile by
 * another process waits at most this when its wake-up (PollWakeups) is lost
 * (docs/decisions/0020-poll-scheduler-sleeps-until-due.md, 0030-poll-wakeups.md).
 */
export const POLL_IDLE_MAX_MS = 1_000;

/**
 * Claims due polls, one round at a time in this process. It asks the database when the
 * next poll is due and sleeps until then (at most POLL_IDLE_MAX_MS), so an idle process
 * runs one cheap statement a second instead of a claiming transaction every 250 ms.
 */
@Injectable()
export class PollSchedulerTask implements OnApplicationBootstrap {
  private readonly task = new PeriodicTask('Claiming due polls', new Logger('PollScheduler'), () => this.round());
  /** When the last round that claimed polls ran (epoch ms). */
  private lastClaimAt = 0;

  constructor(
    private readonly polling: PaymentPollingService,
    private readonly payments: PaymentsRepository,
    private readonly scheduler: SchedulerRegistry,
  ) {}

  onApplicationBootstrap(): void {
    this.task.startAdaptive(this.scheduler, {
      name: 'poll-scheduler',
      firstAfterMs: POLL_TICK_MS,
      retryAfterMs: POLL_TICK_MS,
    });
  }

  /**
   * A poll this process just made due now (a thin event's fetch): claim it at once instead
   * of after the sleep of up to POLL_IDLE_MAX_MS the last round asked for.
   */
  wake(): void {
    this.task.wake();
  }

  /**
   * A poll another process made due at `dueAt` (epoch ms; PollWakeups): the next round
   * comes by then instead of after a sleep of up to POLL_IDLE_MAX_MS, but never sooner than
   * POLL_TICK_MS after the last claiming round, so a stream of new payments does not turn
   * into a claiming transaction each.
   */
  wakeBy(dueAt: number): void {
    this.task.wakeBy(Math.max(dueAt, this.lastClaimAt + POLL_TICK_MS));
  }

  /** One round: claims what is due, or answers how long to sleep until something is. */
  async round(): Promise<number> {
    const dueInMs = await this.payments.msUntilNextPoll();
    if (dueInMs === null) return POLL_IDLE_MAX_MS;
    if (dueInMs > 0) return Math.min(Math.ceil(dueInMs), POLL_IDLE_MAX_MS);
    this.lastClaimAt = Date.now();
    await this.polling.claimDue();
    return POLL_TICK_MS;
  }
}
