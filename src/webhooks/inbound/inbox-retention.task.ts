import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { SchedulerRegistry } from '@nestjs/schedule';
import { RETENTION_BATCH, deleteInBatches } from '../../common/db/delete-in-batches.js';
import type { AllConfig } from '../../config/env.js';
import { formatDuration, parseDuration } from '../../common/duration.js';
import { housekeepingSchedule, PeriodicTask, type PeriodicSchedule } from '../../common/schedule/periodic-task.js';
import { InboundMetrics } from './inbound-metrics.js';
import { InboxRepository } from './inbox.repository.js';

/**
 * Keeps the inbox from growing without end: a row processed (applied or ignored) longer
 * ago than INBOX_RETENTION is deleted. A row not processed yet stays whatever its age
 * (the sweeper and the processor still need it). The payment's timeline keeps what the
 * row told about the event. Until the row goes, a redelivery of its event is a duplicate
 * (200, nothing applied); after, it would be stored and applied again, which is why the
 * retention must be longer than any sender retries. Runs HOUSEKEEPING_DELAY_MS after boot,
 * then every RETENTION_INTERVAL_MS (15 min), on the processes that apply events, in
 * batches that skip rows another replica or the processor holds.
 */
@Injectable()
export class InboxRetentionTask implements OnApplicationBootstrap {
  private readonly logger = new Logger('InboxRetention');
  readonly retentionMs: number;
  private readonly schedule: PeriodicSchedule;
  private readonly task = new PeriodicTask('Inbox retention', this.logger, () => this.purge());

  constructor(
    private readonly repository: InboxRepository,
    private readonly metrics: InboundMetrics,
    private readonly scheduler: SchedulerRegistry,
    config: ConfigService<AllConfig, true>,
  ) {
    this.retentionMs = parseDuration(config.get('INBOX_RETENTION', { infer: true }));
    this.schedule = housekeepingSchedule('inbox-retention', config.get('HOUSEKEEPING_DELAY_MS', { infer: true }));
  }

  onApplicationBootstrap(): void {
    this.task.start(this.scheduler, this.schedule);
  }

  /** Deletes the rows processed longer ago than `olderThanMs`, oldest first; returns how many. */
  async purge(olderThanMs = this.retentionMs, batch = RETENTION_BATCH): Promise<number> {
    const total = await deleteInBatches((limit) => this.repository.purgeProcessed(olderThanMs, limit), batch);
    if (total > 0) {
      this.metrics.purged.inc(total);
      this.logger.log(`Deleted ${total} inbox row(s) processed more than ${formatDuration(olderThanMs)} ago`);
    }
    return total;
  }
}
