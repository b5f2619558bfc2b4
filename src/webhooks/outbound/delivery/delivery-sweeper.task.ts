import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { SchedulerRegistry } from '@nestjs/schedule';
import { PeriodicTask } from '../../../common/schedule/periodic-task.js';
import type { AllConfig } from '../../../config/env.js';
import { DeliveriesRepository } from '../deliveries.repository.js';
import { OutboundMetrics } from '../outbound-metrics.js';
import type { OutboundOwner } from '../outbound.entities.js';
import { WebhookOutbox } from '../webhook-outbox.js';
import { DELIVERY_OWNERS } from './delivery-owners.js';

/** Most overdue deliveries one sweep re-enqueues per owner. */
const SWEEP_LIMIT = 1000;

/**
 * Every WEBHOOK_SWEEP_INTERVAL_MS, re-enqueues the due deliveries of this process's owners
 * whose job was lost: pending, due more than WEBHOOK_SWEEP_STALE_MS ago, not attempted
 * since. Re-adding a job that still exists is a no-op (job id = delivery id).
 */
@Injectable()
export class DeliverySweeperTask implements OnApplicationBootstrap {
  private readonly logger = new Logger('OutboundSweeper');
  private readonly intervalMs: number;
  private readonly staleMs: number;
  private readonly task = new PeriodicTask('Outbound sweep', this.logger, () => this.sweep());

  constructor(
    @Inject(DELIVERY_OWNERS) private readonly owners: readonly OutboundOwner[],
    private readonly deliveries: DeliveriesRepository,
    private readonly outbox: WebhookOutbox,
    private readonly metrics: OutboundMetrics,
    private readonly scheduler: SchedulerRegistry,
    config: ConfigService<AllConfig, true>,
  ) {
    this.intervalMs = config.get('WEBHOOK_SWEEP_INTERVAL_MS', { infer: true });
    this.staleMs = config.get('WEBHOOK_SWEEP_STALE_MS', { infer: true });
  }

  onApplicationBootstrap(): void {
    this.task.start(this.scheduler, { name: 'outbound-sweeper', everyMs: this.intervalMs });
  }

  /** Re-enqueues lost deliveries, at most SWEEP_LIMIT per owner a run. */
  async sweep(): Promise<void> {
    for (const owner of this.owners) {
      const rows = await this.deliveries.findOverdue(owner, this.staleMs, SWEEP_LIMIT);
      if (rows.length === 0) continue;
      if (await this.outbox.enqueue(owner, rows)) {
        this.metrics.swept.inc({ owner }, rows.length);
        this.logger.warn(`Re-enqueued ${rows.length} overdue ${owner} delivery(ies) (their jobs were lost or late)`);
      }
    }
  }
}
