import { Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { PeriodicTask } from '../../common/schedule/periodic-task.js';
import { PaymentPollingService } from './payment-polling.service.js';

/** How often due polls are claimed; bounds the extra delay a poll can get. */
export const POLL_TICK_MS = 250;

@Injectable()
export class PollSchedulerTask {
  /** A slow round must not overlap the next one in this process. */
  private readonly task = new PeriodicTask('Claiming due polls', new Logger('PollScheduler'), () =>
    this.polling.claimDue(),
  );

  constructor(private readonly polling: PaymentPollingService) {}

  @Interval('poll-scheduler', POLL_TICK_MS)
  tick(): Promise<void> {
    return this.task.run();
  }
}
