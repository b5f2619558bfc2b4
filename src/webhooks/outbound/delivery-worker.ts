import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { SchedulerRegistry } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Job } from 'bull';
import { DataSource } from 'typeorm';
import type { AllConfig } from '../../config/env.js';
import { PeriodicTask } from '../../common/schedule/periodic-task.js';
import { JobName } from '../../queue/queues.js';
import { OutboundMetrics } from './outbound-metrics.js';
import type { OutboundOwner } from './outbound.entities.js';
import { DeliveryDeferred, UNEXPECTED_ERROR_RETRY_MS, WebhookDispatcher } from './webhook-dispatcher.js';
import { WebhookOutbox, type DeliverJob } from './webhook-outbox.js';

/** Most overdue deliveries one sweep re-enqueues per owner. */
const SWEEP_LIMIT = 1000;

/** The owners whose delivery queues this process runs (the shop's on workers, the PSP's on psp). */
export const DELIVERY_OWNERS = Symbol('DELIVERY_OWNERS');

/**
 * One delivery job. An attempt put off or failed as the engine decided (DeliveryDeferred)
 * has been logged by the dispatcher, and so has one sent but not recorded — whose count
 * in a row the job keeps (`unrecorded`), so each such wait is longer than the last.
 * Anything else (the database unreachable while the delivery is loaded: nothing was sent)
 * is logged here, and Bull runs the job again after UNEXPECTED_ERROR_RETRY_MS: the
 * delivery is still pending, so nothing is lost.
 */
export async function runDelivery(
  dispatcher: Pick<WebhookDispatcher, 'attempt'>,
  logger: Pick<Logger, 'error'>,
  owner: OutboundOwner,
  job: Pick<Job<DeliverJob>, 'data' | 'update'>,
): Promise<string> {
  const { deliveryId } = job.data;
  const before = job.data.unrecorded ?? 0;
  try {
    return await dispatcher.attempt(owner, deliveryId, before);
  } catch (err) {
    if (err instanceof DeliveryDeferred) {
      const after = err.unrecorded ?? (err.counted ? 0 : before);
      // Lost with Redis, the count starts again at 1: the wait is still at least the schedule's step.
      if (after !== before) await job.update({ ...job.data, unrecorded: after }).catch(() => undefined);
    } else {
      logger.error({
        msg: `Delivery ${deliveryId} (${owner}) did not complete, tried again in ${UNEXPECTED_ERROR_RETRY_MS / 1000} s: ${(err as Error).message}`,
        deliveryId,
      });
    }
    throw err;
  }
}

/**
 * Runs the delivery queues of the owners this process serves (the shop's on workers,
 * the PSP mock's on psp), WEBHOOK_DELIVERY_CONCURRENCY jobs at a time, and sweeps
 * their due deliveries whose job was lost: pending, due more than
 * WEBHOOK_SWEEP_STALE_MS ago, not attempted since. Re-adding a job that still exists
 * is a no-op (job id = delivery id).
 */
@Injectable()
export class DeliveryWorker implements OnApplicationBootstrap {
  private readonly logger = new Logger('OutboundSweeper');
  /** The dispatcher's context: a delivery's lines read together. */
  private readonly deliveryLogger = new Logger('Outbound');
  private readonly concurrency: number;
  private readonly intervalMs: number;
  private readonly staleMs: number;
  private readonly sweeper = new PeriodicTask('Outbound sweep', this.logger, () => this.sweep());

  constructor(
    @Inject(DELIVERY_OWNERS) readonly owners: readonly OutboundOwner[],
    private readonly dispatcher: WebhookDispatcher,
    private readonly outbox: WebhookOutbox,
    private readonly metrics: OutboundMetrics,
    private readonly scheduler: SchedulerRegistry,
    @InjectDataSource() private readonly db: DataSource,
    config: ConfigService<AllConfig, true>,
  ) {
    this.concurrency = config.get('WEBHOOK_DELIVERY_CONCURRENCY', { infer: true });
    this.intervalMs = config.get('WEBHOOK_SWEEP_INTERVAL_MS', { infer: true });
    this.staleMs = config.get('WEBHOOK_SWEEP_STALE_MS', { infer: true });
  }

  onApplicationBootstrap(): void {
    for (const owner of this.owners) {
      const queue = this.outbox.queue(owner);
      // process() settles only when the queue closes (shutdown): "Connection is closed" then is expected.
      queue
        .process(JobName.DeliverWebhook, this.concurrency, (job: Job<DeliverJob>) =>
          runDelivery(this.dispatcher, this.deliveryLogger, owner, job),
        )
        .catch((err: Error) => {
          if (!/closed/i.test(err.message)) this.logger.error(`The ${owner} delivery queue stopped: ${err.message}`);
        });
    }
    this.sweeper.start(this.scheduler, { name: 'outbound-sweeper', everyMs: this.intervalMs });
  }

  /** Re-enqueues lost deliveries, at most SWEEP_LIMIT per owner a run. */
  private async sweep(): Promise<void> {
    for (const owner of this.owners) {
      const rows = await this.db.query<{ id: string }[]>(
        `SELECT d.id FROM webhook_deliveries d JOIN webhook_messages m ON m.id = d.message_id
          WHERE d.status = 'pending' AND d.next_attempt_at < now() - make_interval(secs => $1 / 1000.0)
            AND m.owner = $2
          ORDER BY d.next_attempt_at LIMIT $3`,
        [this.staleMs, owner, SWEEP_LIMIT],
      );
      if (rows.length === 0) continue;
      if (await this.outbox.enqueue(owner, rows)) {
        this.metrics.swept.inc({ owner }, rows.length);
        this.logger.warn(`Re-enqueued ${rows.length} overdue ${owner} delivery(ies) (their jobs were lost or late)`);
      }
    }
  }
}
