import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { SchedulerRegistry } from '@nestjs/schedule';
import type { AllConfig } from '../../config/env.js';
import { PeriodicTask } from '../../common/schedule/periodic-task.js';
import { InboxQueue } from './inbox-queue.js';

/**
 * Re-enqueues inbox rows the queue lost (Redis flushed, down, or a job that never
 * made it): rows not processed and not queued for INBOX_SWEEP_STALE_MS, every
 * INBOX_SWEEP_INTERVAL_MS (configured, so registered with SchedulerRegistry).
 */
@Injectable()
export class InboxSweeperTask implements OnApplicationBootstrap {
  private readonly logger = new Logger('InboxSweeper');
  private readonly intervalMs: number;
  private readonly staleMs: number;
  private readonly task = new PeriodicTask('Inbox sweep', this.logger, () => this.queue.sweep(this.staleMs));

  constructor(
    private readonly queue: InboxQueue,
    private readonly scheduler: SchedulerRegistry,
    config: ConfigService<AllConfig, true>,
  ) {
    this.intervalMs = config.get('INBOX_SWEEP_INTERVAL_MS', { infer: true });
    this.staleMs = config.get('INBOX_SWEEP_STALE_MS', { infer: true });
  }

  onApplicationBootstrap(): void {
    this.task.start(this.scheduler, { name: 'inbox-sweeper', everyMs: this.intervalMs });
  }
}
