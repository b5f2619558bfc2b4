import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { SchedulerRegistry } from '@nestjs/schedule';
import { RETENTION_BATCH, deleteInBatches } from '../../common/db/delete-in-batches.js';
import type { AllConfig } from '../../config/env.js';
import { DeliveriesRepository } from './deliveries.repository.js';
import { DELIVERY_OWNERS } from './delivery/delivery-owners.js';
import { OutboundMetrics } from './outbound-metrics.js';
import type { OutboundOwner } from './outbound.entities.js';
import { formatDuration, parseDuration } from '../../common/duration.js';
import { housekeepingSchedule, PeriodicTask, type PeriodicSchedule } from '../../common/schedule/periodic-task.js';

/**
 * Keeps the outbound tables from growing without end: a message older than
 * WEBHOOK_RETENTION whose deliveries are all final (succeeded or failed; a message
 * nobody subscribed to has none) is deleted, and with it its deliveries and their
 * attempts (ON DELETE CASCADE). A message with a delivery still pending stays until it
 * is final. Runs HOUSEKEEPING_DELAY_MS after boot, then every RETENTION_INTERVAL_MS, on
 * the processes that send webhooks, for their owners, in batches of RETENTION_BATCH that
 * skip rows another replica holds.
 */
@Injectable()
export class OutboundRetentionTask implements OnApplicationBootstrap {
  private readonly logger = new Logger('OutboundRetention');
  readonly retentionMs: number;
  private readonly schedule: PeriodicSchedule;
  private readonly task = new PeriodicTask('Outbound retention', this.logger, async () => {
    for (const owner of this.owners) await this.purge(owner);
  });

  constructor(
    @Inject(DELIVERY_OWNERS) private readonly owners: readonly OutboundOwner[],
    private readonly deliveries: DeliveriesRepository,
    private readonly metrics: OutboundMetrics,
    private readonly scheduler: SchedulerRegistry,
    config: ConfigService<AllConfig, true>,
  ) {
    this.retentionMs = parseDuration(config.get('WEBHOOK_RETENTION', { infer: true }));
    this.schedule = housekeepingSchedule('outbound-retention', config.get('HOUSEKEEPING_DELAY_MS', { infer: true }));
  }

  onApplicationBootstrap(): void {
    this.task.start(this.scheduler, this.schedule);
  }

  /** Deletes `owner`'s messages past retention whose deliveries are final; returns how many. */
  async purge(owner: OutboundOwner, olderThanMs = this.retentionMs, batch = RETENTION_BATCH): Promise<number> {
    const total = await deleteInBatches(
      (limit) => this.deliveries.deleteFinalMessages(owner, olderThanMs, limit),
      batch,
    );
    if (total > 0) {
      this.metrics.purged.inc({ owner }, total);
      this.logger.log(
        `Deleted ${total} ${owner} webhook message(s) older than ${formatDuration(olderThanMs)} with their deliveries and attempts`,
      );
    }
    return total;
  }
}
