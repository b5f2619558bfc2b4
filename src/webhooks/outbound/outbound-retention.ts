import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { SchedulerRegistry } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { RETENTION_BATCH, deleteInBatches } from '../../common/db/delete-in-batches.js';
import type { AllConfig } from '../../config/env.js';
import { DELIVERY_OWNERS } from './delivery-worker.js';
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
export class OutboundRetention implements OnApplicationBootstrap {
  private readonly logger = new Logger('OutboundRetention');
  readonly retentionMs: number;
  private readonly schedule: PeriodicSchedule;
  private readonly task = new PeriodicTask('Outbound retention', this.logger, async () => {
    for (const owner of this.owners) await this.purge(owner);
  });

  constructor(
    @Inject(DELIVERY_OWNERS) private readonly owners: readonly OutboundOwner[],
    @InjectDataSource() private readonly db: DataSource,
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
    const total = await deleteInBatches(async (limit) => {
      const [{ n }] = await this.db.query<{ n: number }[]>(
        `WITH gone AS (
           DELETE FROM webhook_messages WHERE id IN (
             SELECT m.id FROM webhook_messages m
              WHERE m.owner = $1 AND m.created_at < now() - make_interval(secs => $2 / 1000.0)
                AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.message_id = m.id AND d.status = 'pending')
              ORDER BY m.created_at
              LIMIT $3
                FOR UPDATE SKIP LOCKED)
           RETURNING 1)
         SELECT count(*)::int AS n FROM gone`,
        [owner, olderThanMs, limit],
      );
      return n;
    }, batch);
    if (total > 0) {
      this.metrics.purged.inc({ owner }, total);
      this.logger.log(
        `Deleted ${total} ${owner} webhook message(s) older than ${formatDuration(olderThanMs)} with their deliveries and attempts`,
      );
    }
    return total;
  }
}
