import { Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { PspMockService } from './psp-mock.service.js';

/** Re-schedules settlements whose Bull job was lost (deliveries: the outbound engine's sweeper). */
@Injectable()
export class PspSweeperTask {
  private readonly logger = new Logger('PspSweeper');

  constructor(private readonly psp: PspMockService) {}

  @Interval('psp-sweeper', 15_000)
  async run(): Promise<void> {
    try {
      await this.psp.sweepUnsettled();
    } catch (err) {
      this.logger.error(`PSP sweep failed: ${(err as Error).message}`);
    }
  }
}
