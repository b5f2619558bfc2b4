import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Job } from 'bull';
import type { AllConfig } from '../../../config/env.js';
import { JobName } from '../../../queue/queues.js';
import type { OutboundOwner } from '../outbound.entities.js';
import { WebhookOutbox } from '../webhook-outbox.js';
import { DeliveryAttempt } from './delivery-attempt.js';
import { DeliveryDeferred, UNEXPECTED_ERROR_RETRY_MS, type DeliverJob } from './delivery-job.js';
import { DELIVERY_OWNERS } from './delivery-owners.js';

/**
 * One delivery job. An attempt put off or failed as the engine decided (DeliveryDeferred)
 * has been logged by the attempt, and so has one sent but not recorded — whose count
 * in a row the job keeps (`unrecorded`), so each such wait is longer than the last.
 * Anything else (the database unreachable while the delivery is loaded: nothing was sent)
 * is logged here, and Bull runs the job again after UNEXPECTED_ERROR_RETRY_MS: the
 * delivery is still pending, so nothing is lost.
 */
export async function runDelivery(
  attempt: Pick<DeliveryAttempt, 'run'>,
  logger: Pick<Logger, 'error'>,
  owner: OutboundOwner,
  job: Pick<Job<DeliverJob>, 'data' | 'update'>,
): Promise<string> {
  const { deliveryId, slot } = job.data;
  const before = job.data.unrecorded ?? 0;
  try {
    return await attempt.run(owner, deliveryId, before, slot);
  } catch (err) {
    if (err instanceof DeliveryDeferred) {
      const after = err.unrecorded ?? (err.counted ? 0 : before);
      // Lost with Redis, the count starts again at 1: the wait is still at least the schedule's step.
      if (after !== before || err.slotSecond !== slot) {
        const data: DeliverJob = { deliveryId };
        if (after > 0 || before > 0) data.unrecorded = after;
        if (err.slotSecond !== undefined) data.slot = err.slotSecond;
        await job.update(data).catch(() => undefined);
      }
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
 * the PSP mock's on psp), WEBHOOK_DELIVERY_CONCURRENCY jobs at a time.
 */
@Injectable()
export class DeliveryProcessor implements OnApplicationBootstrap {
  private readonly logger = new Logger('OutboundSweeper');
  /** The attempt's context: a delivery's lines read together. */
  private readonly deliveryLogger = new Logger('Outbound');
  private readonly concurrency: number;

  constructor(
    @Inject(DELIVERY_OWNERS) readonly owners: readonly OutboundOwner[],
    private readonly attempt: DeliveryAttempt,
    private readonly outbox: WebhookOutbox,
    config: ConfigService<AllConfig, true>,
  ) {
    this.concurrency = config.get('WEBHOOK_DELIVERY_CONCURRENCY', { infer: true });
  }

  onApplicationBootstrap(): void {
    for (const owner of this.owners) {
      const queue = this.outbox.queue(owner);
      // process() settles only when the queue closes (shutdown): "Connection is closed" then is expected.
      queue
        .process(JobName.DeliverWebhook, this.concurrency, (job: Job<DeliverJob>) =>
          runDelivery(this.attempt, this.deliveryLogger, owner, job),
        )
        .catch((err: Error) => {
          if (!/closed/i.test(err.message)) this.logger.error(`The ${owner} delivery queue stopped: ${err.message}`);
        });
    }
  }
}
