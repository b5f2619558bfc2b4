import { Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { PaymentPollingService } from './payment-polling.service.js';

/** How often due polls are claimed; bounds the extra delay a poll can get. */
export const POLL_TICK_MS = 250;

@Injectable()
export class PollSchedulerTask {
  private readonly logger = new Logger('PollScheduler');
  private running = false;

  constructor(private readonly polling: PaymentPollingService) {}

  @Interval('poll-scheduler', POLL_TICK_MS)
  async tick(): Promise<void> {
    if (this.running) return; // a slow round must not overlap the next one in this process
    this.running = true;
    try {
      await this.polling.claimDue();
    } catch (err) {
      this.logger.error(`Claiming due polls failed: ${(err as Error).message}`);
    } finally {
      this.running = false;
    }
  }
}
