import { Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { PeriodicTask } from '../common/schedule/periodic-task.js';
import { PspMockService } from './psp-mock.service.js';

/** Re-schedules settlements whose Bull job was lost (deliveries: the outbound engine's sweeper), one sweep at a time. */
@Injectable()
export class PspSweeperTask {
  private readonly task = new PeriodicTask('PSP sweep', new Logger('PspSweeper'), () => this.psp.sweepUnsettled());

  constructor(private readonly psp: PspMockService) {}

  @Interval('psp-sweeper', 15_000)
  run(): Promise<void> {
    return this.task.run();
  }
}
