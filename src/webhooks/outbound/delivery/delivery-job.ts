import { MAX_DELIVERY_WAIT_MS, HOUR_MS } from '../../../config/bounds.js';
import { JobName, QueueName } from '../../../queue/queues.js';
import type { OutboundOwner } from '../outbound.entities.js';

// The Bull job of a delivery: its queue, its options, and the backoff that applies the
// wait the engine decided (the retry schedule's step, a deferral, an unrecorded attempt).

export const DELIVERY_QUEUE: Record<OutboundOwner, QueueName> = {
  shop: QueueName.WebhookDelivery,
  psp: QueueName.PspDelivery,
};

/** Bull never gives up on a delivery job: the engine decides, from its own schedule, when to stop. */
export const DELIVERY_JOB_ATTEMPTS = 1_000_000;
/** Stack traces of unexpected errors a delivery job keeps (Bull keeps every one without a limit; docs/decisions/0007-stackless-deferrals.md). */
export const DELIVERY_JOB_STACK_TRACES = 3;
/** Name of the backoff strategy that takes the wait the engine computed (registered on the delivery queues). */
export const ENGINE_BACKOFF = 'engine-schedule';

export interface DeliverJob {
  deliveryId: string;
  /** Attempts in a row sent without their outcome recorded (set by the worker; absent: none). */
  unrecorded?: number;
  /** The second (Unix time) of the endpoint's rate-limit slot this job was put off to (set by the worker). */
  slot?: number;
}

/** The Bull job of a delivery: job id = delivery id, retried only as the engine decides, gone once done. */
export function deliveryJob(deliveryId: string, delayMs = 0) {
  return {
    name: JobName.DeliverWebhook,
    data: { deliveryId } satisfies DeliverJob,
    opts: {
      jobId: deliveryId,
      attempts: DELIVERY_JOB_ATTEMPTS,
      backoff: { type: ENGINE_BACKOFF },
      ...(delayMs > 0 ? { delay: delayMs } : {}),
      removeOnComplete: true,
      removeOnFail: true,
      // The stacks of unexpected errors (DeliveryDeferred has none): the last few, not every one.
      stackTraceLimit: DELIVERY_JOB_STACK_TRACES,
    },
  };
}

/**
 * Thrown to Bull so that the job runs again after `delayMs` (the delivery queues'
 * backoff strategy reads it). `counted`: a real attempt failed; otherwise the
 * attempt was only put off (rate limit, endpoint busy) and nothing was sent.
 */
export class DeliveryDeferred extends Error {
  /**
   * `unrecorded`: the attempt was sent but its outcome could not be recorded, the
   * `unrecorded`th time in a row (kept with the job, so the next such wait is longer).
   * `slotSecond`: put off to the rate-limit slot reserved for it in that second (kept with
   * the job, so the slot admits it when it runs again).
   */
  constructor(
    message: string,
    readonly delayMs: number,
    readonly counted: boolean,
    readonly unrecorded?: number,
    readonly slotSecond?: number,
  ) {
    super(message);
    this.name = 'DeliveryDeferred';
    // Flow control, not a fault: without a stack, Bull records only the reason. It appends
    // every failure's stack to the job and rewrites the job whole, so a delivery deferred
    // behind a rate limit or a busy endpoint every second would grow by a stack each time
    // (docs/decisions/0007-stackless-deferrals.md).
    this.stack = undefined;
  }
}

/** How long Bull waits before it runs a delivery again after an unexpected error (the database unreachable, say). */
export const UNEXPECTED_ERROR_RETRY_MS = 5000;

/**
 * After an attempt that was sent but whose outcome PostgreSQL did not record (it refused
 * the write, or is down), the delivery is still pending: it is sent again, but never at
 * once. The wait is the schedule's step for that attempt, and at least 5 s doubled with
 * each such attempt in a row, up to an hour (docs/decisions/0402-unrecorded-attempts.md).
 */
export const UNRECORDED_BACKOFF_BASE_MS = 5000;
export const UNRECORDED_BACKOFF_MAX_MS = HOUR_MS;

/** The wait after the `n`th attempt in a row whose outcome could not be recorded (`stepMs`: the schedule's). */
export function unrecordedBackoffMs(n: number, stepMs: number | null): number {
  const exponential = Math.min(
    UNRECORDED_BACKOFF_MAX_MS,
    UNRECORDED_BACKOFF_BASE_MS * 2 ** Math.min(Math.max(n, 1) - 1, 20),
  );
  return Math.min(MAX_DELIVERY_WAIT_MS, Math.max(stepMs ?? 0, exponential));
}

/** Bull backoff strategy of the delivery queues: the wait the engine decided. */
export function engineBackoff(_attemptsMade: number, err: unknown): number {
  return err instanceof DeliveryDeferred ? err.delayMs : UNEXPECTED_ERROR_RETRY_MS;
}
