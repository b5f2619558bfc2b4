import { Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { PspMockService } from './psp-mock.service.js';
import { PspWebhookSender } from './psp-webhook.sender.js';

/** Re-enqueues PSP work whose Bull job was lost: the PSP's tables are its outbox. */
@Injectable()
export class PspSweeperTask {
  private readonly logger = new Logger('PspSweeper');

  constructor(
    private readonly psp: PspMockService,
    private readonly sender: PspWebhookSender,
  ) {}

  @Interval('psp-sweeper', 15_000)
  async run(): Promise<void> {
    try {
      await this.psp.sweepUnsettled();
      await this.sender.sweepPending();
    } catch (err) {
      this.logger.error(`PSP sweep failed: ${(err as Error).message}`);
    }
  }
}
