import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { SchedulerRegistry } from '@nestjs/schedule';
import type { AllConfig } from '../config/env.js';
import { PeriodicTask } from '../common/schedule/periodic-task.js';
import { ReconciliationService } from './reconciliation.service.js';

/** Runs reconciliation every RECONCILE_INTERVAL_MS (configured, so registered with SchedulerRegistry, not a static @Interval). */
@Injectable()
export class ReconciliationTask implements OnApplicationBootstrap {
  private readonly logger = new Logger('ReconciliationTask');
  private readonly intervalMs: number;
  private readonly task = new PeriodicTask('Reconciliation', this.logger, () => this.reconciliation.run());

  constructor(
    private readonly reconciliation: ReconciliationService,
    private readonly scheduler: SchedulerRegistry,
    config: ConfigService<AllConfig, true>,
  ) {
    this.intervalMs = config.get('RECONCILE_INTERVAL_MS', { infer: true });
  }

  onApplicationBootstrap(): void {
    this.task.start(this.scheduler, { name: 'reconciliation', everyMs: this.intervalMs });
  }
}
