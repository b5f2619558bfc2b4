import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { PeriodicTask } from '../common/schedule/periodic-task.js';
import { PspMockService } from './psp-mock.service.js';

/** How often the PSP mock looks for settlements whose Bull job was lost. */
export const PSP_SWEEP_INTERVAL_MS = 15_000;

/** Re-schedules settlements whose Bull job was lost (deliveries: the outbound engine's sweeper), one sweep at a time. */
@Injectable()
export class PspSweeperTask implements OnApplicationBootstrap {
  private readonly task = new PeriodicTask('PSP sweep', new Logger('PspSweeper'), () => this.psp.sweepUnsettled());

  constructor(
    private readonly psp: PspMockService,
    private readonly scheduler: SchedulerRegistry,
  ) {}

  onApplicationBootstrap(): void {
    this.task.start(this.scheduler, { name: 'psp-sweeper', everyMs: PSP_SWEEP_INTERVAL_MS });
  }

  /** One sweep now (unless one is running). */
  run(): Promise<void> {
    return this.task.run();
  }
}
