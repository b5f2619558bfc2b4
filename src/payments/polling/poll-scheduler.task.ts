import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { PeriodicTask } from '../../common/schedule/periodic-task.js';
import { PaymentPollingService } from './payment-polling.service.js';

/** How often due polls are claimed; bounds the extra delay a poll can get. */
export const POLL_TICK_MS = 250;

/** Claims due polls every POLL_TICK_MS; a slow round must not overlap the next one in this process. */
@Injectable()
export class PollSchedulerTask implements OnApplicationBootstrap {
  private readonly task = new PeriodicTask('Claiming due polls', new Logger('PollScheduler'), () =>
    this.polling.claimDue(),
  );

  constructor(
    private readonly polling: PaymentPollingService,
    private readonly scheduler: SchedulerRegistry,
  ) {}

  onApplicationBootstrap(): void {
    this.task.start(this.scheduler, { name: 'poll-scheduler', everyMs: POLL_TICK_MS });
  }
}
