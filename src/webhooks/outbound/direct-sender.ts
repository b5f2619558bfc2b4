import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import type { LoadedDelivery } from './deliveries.repository.js';
import { DeliveryAttempt } from './delivery/delivery-attempt.js';
import { DeliveryDeferred, UNEXPECTED_ERROR_RETRY_MS } from './delivery/delivery-job.js';
import { WebhookOutbox } from './webhook-outbox.js';
import type { OutboundOwner } from './outbound.entities.js';

/**
 * Sends a delivery as soon as the transaction that wrote it has committed (the PSP mock's
 * settlement webhook): the first attempt runs here, in the publishing process, instead of
 * through a job on the psp-delivery queue (a Redis round trip, the job's pick-up and a
 * load of its own), which the settlement's lag paid for every payment
 * (docs/decisions/0023-psp-direct-first-attempt.md). The delivery row is committed before
 * the attempt, and the attempt is the outbound engine's own (throttle, signing, chaos hooks,
 * recording). What comes after is the queue's: a retry after the schedule's step, or a
 * deferral, is a delayed job as if the first attempt had been one; an attempt that never
 * ran or never finished (a crash) leaves the delivery pending, and the outbound sweeper
 * enqueues it.
 */
@Injectable()
export class DirectSender implements OnModuleDestroy {
  private readonly logger = new Logger('DirectSender');
  /** First attempts under way: a shutdown lets them finish and record, as Bull lets its active jobs. */
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly attempt: DeliveryAttempt,
    private readonly outbox: WebhookOutbox,
  ) {}

  /**
   * Starts the first attempt of `deliveryId` and returns at once (the publisher does not wait
   * for the receiver). `loaded`: the delivery as the statement that wrote it answered it
   * (WebhookOutbox.publishWithin), so the attempt does not load it again.
   */
  send(owner: OutboundOwner, deliveryId: string, loaded?: LoadedDelivery): void {
    const attempt = this.firstAttempt(owner, deliveryId, loaded).finally(() => this.inFlight.delete(attempt));
    this.inFlight.add(attempt);
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all([...this.inFlight]);
  }

  /** The first attempt, and the job for the next one if it must run again. Never throws. */
  async firstAttempt(owner: OutboundOwner, deliveryId: string, loaded?: LoadedDelivery): Promise<void> {
    let delayMs: number;
    try {
      await (loaded ? this.attempt.runLoaded(owner, loaded) : this.attempt.run(owner, deliveryId));
      return;
    } catch (err) {
      // A DeliveryDeferred has been logged by the attempt; anything else (the delivery could
      // not be loaded: nothing was sent) is logged here, and tried again as Bull would.
      if (err instanceof DeliveryDeferred) delayMs = err.delayMs;
      else {
        delayMs = UNEXPECTED_ERROR_RETRY_MS;
        this.logger.error({
          msg: `Delivery ${deliveryId} (${owner}) did not complete, tried again in ${delayMs / 1000} s: ${(err as Error).message}`,
          deliveryId,
        });
      }
    }
    // If Redis refuses the job, the delivery is still pending: the sweeper enqueues it.
    await this.outbox.enqueue(owner, [{ id: deliveryId, delayMs }]);
  }
}
