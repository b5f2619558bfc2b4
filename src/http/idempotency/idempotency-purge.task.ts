import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { SchedulerRegistry } from '@nestjs/schedule';
import type { AllConfig } from '../../config/env.js';
import { housekeepingSchedule, PeriodicTask, type PeriodicSchedule } from '../../common/schedule/periodic-task.js';
import { IdempotencyService } from './idempotency.service.js';

/**
 * Deletes the keys older than IDEMPOTENCY_TTL_H: HOUSEKEEPING_DELAY_MS after boot, then
 * every RETENTION_INTERVAL_MS. A plain DELETE by age: harmless when several replicas run
 * it at once.
 */
@Injectable()
export class IdempotencyPurgeTask implements OnApplicationBootstrap {
  private readonly logger = new Logger('IdempotencyPurge');
  private readonly schedule: PeriodicSchedule;
  private readonly task = new PeriodicTask('Idempotency purge', this.logger, () => this.idempotency.purgeExpired());

  constructor(
    private readonly idempotency: IdempotencyService,
    private readonly scheduler: SchedulerRegistry,
    config: ConfigService<AllConfig, true>,
  ) {
    this.schedule = housekeepingSchedule('idempotency-purge', config.get('HOUSEKEEPING_DELAY_MS', { infer: true }));
  }

  onApplicationBootstrap(): void {
    this.task.start(this.scheduler, this.schedule);
  }
}
