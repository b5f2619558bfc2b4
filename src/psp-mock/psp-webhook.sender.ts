import { InjectQueue } from '@nestjs/bull';
import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Queue } from 'bull';
import { DataSource } from 'typeorm';
import { Agent, request } from 'undici';
import type { AllConfig } from '../config/env.js';
import { splitList } from '../config/env.js';
import { webhookSigner, type WebhookSigner } from '../common/crypto/webhook-signature.js';
import { JobName, QueueName } from '../queue/queues.js';
import { PspEvent } from './psp-event.entity.js';
import { PspMetrics, endpointLabel, type DeliveryOutcome } from './psp-metrics.js';

export interface DeliverJob {
  eventId: string;
}

export type DeliveryResult = 'delivered' | 'already-delivered' | 'gone';

/**
 * The PSP mock's small webhook sender: signs each event (PSP_SIGNATURE_SCHEME) and
 * POSTs it to the payment's callback URL, retrying non-2xx answers with exponential
 * backoff (Bull attempts). One provider, so a full delivery engine can replace it.
 */
@Injectable()
export class PspWebhookSender implements OnModuleDestroy {
  private readonly logger = new Logger('PspSender');
  private readonly signer: WebhookSigner;
  private readonly attempts: number;
  private readonly backoffMs: number;
  private readonly timeoutMs = 15_000;
  private readonly agent = new Agent({ keepAliveTimeout: 10_000, connections: 32 });

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @InjectQueue(QueueName.PspDelivery) private readonly queue: Queue<DeliverJob>,
    private readonly metrics: PspMetrics,
    config: ConfigService<AllConfig, true>,
  ) {
    this.signer = webhookSigner(
      config.get('PSP_SIGNATURE_SCHEME', { infer: true }),
      splitList(config.get('PSP_WEBHOOK_SECRET', { infer: true }), ' '),
      config.get('WEBHOOK_TOLERANCE_S', { infer: true }),
    );
    this.attempts = config.get('PSP_DELIVERY_ATTEMPTS', { infer: true });
    this.backoffMs = config.get('PSP_DELIVERY_BACKOFF_MS', { infer: true });
  }

  async onModuleDestroy(): Promise<void> {
    await this.agent.close();
  }

  /** Job id = event id, so enqueueing an event twice delivers it once. */
  async enqueue(eventIds: string[]): Promise<void> {
    if (eventIds.length === 0) return;
    try {
      await this.queue.addBulk(
        eventIds.map((eventId) => ({
          name: JobName.DeliverEvent,
          data: { eventId },
          opts: {
            jobId: eventId,
            attempts: this.attempts,
            backoff: { type: 'exponential', delay: this.backoffMs },
            removeOnComplete: 1000,
            removeOnFail: false,
          },
        })),
      );
    } catch (err) {
      this.logger.warn(
        `Could not enqueue ${eventIds.length} delivery(ies), the sweeper will retry: ${(err as Error).message}`,
      );
    }
  }

  /**
   * One delivery attempt. Throws on anything but a 2xx so Bull retries with backoff;
   * `finalAttempt` marks the delivery failed for good.
   */
  async deliver(eventId: string, finalAttempt: boolean): Promise<DeliveryResult> {
    const event = await this.db.getRepository(PspEvent).findOneBy({ id: eventId });
    if (!event || !event.callbackUrl) return 'gone';
    if (event.deliveryStatus === 'delivered') return 'already-delivered';
    const body = JSON.stringify(event.payload);
    const timestamp = Math.floor(Date.now() / 1000);
    const started = Date.now();
    let failure: string | null = null;
    try {
      const res = await request(event.callbackUrl, {
        method: 'POST',
        dispatcher: this.agent,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'hookline-psp-mock/1.0',
          ...this.signer.sign(event.id, timestamp, body),
        },
        body,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
      await res.body.dump();
      if (res.statusCode < 200 || res.statusCode >= 300) failure = `HTTP ${res.statusCode}`;
    } catch (err) {
      failure = (err as Error).message || String(err);
    }
    const ms = Date.now() - started;
    const attempt = {
      outcome: (failure === null ? 'delivered' : 'failed') satisfies DeliveryOutcome,
      endpoint: endpointLabel(event.callbackUrl),
    };
    this.metrics.deliveries.inc(attempt);
    this.metrics.deliveryAttemptSeconds.observe(attempt, ms / 1000);
    if (failure === null) {
      await this.db.query(
        `UPDATE psp_events SET delivery_status = 'delivered', delivered_at = now(), delivery_attempts = delivery_attempts + 1, last_delivery_error = NULL WHERE id = $1`,
        [eventId],
      );
      this.logger.log({
        msg: `Delivered ${event.type} ${event.id} for ${event.paymentId} in ${ms} ms`,
        ...idsOfEvent(event),
      });
      return 'delivered';
    }
    await this.db.query(
      `UPDATE psp_events SET delivery_attempts = delivery_attempts + 1, last_delivery_error = $2,
              delivery_status = CASE WHEN $3 THEN 'failed' ELSE delivery_status END
        WHERE id = $1`,
      [eventId, failure.slice(0, 500), finalAttempt],
    );
    this.logger.warn({
      msg: `Delivery of ${event.id} to ${new URL(event.callbackUrl).origin} failed after ${ms} ms: ${failure}${finalAttempt ? ' (giving up)' : ' (will retry)'}`,
      ...idsOfEvent(event),
    });
    throw new Error(`Delivery of ${event.id} failed: ${failure}`);
  }

  /** Pending deliveries that have no job (Redis lost); a live job with the same id makes this a no-op. */
  async sweepPending(olderThanMs = 30_000, limit = 500): Promise<number> {
    const rows: { id: string }[] = await this.db.query(
      `SELECT id FROM psp_events WHERE delivery_status = 'pending' AND created_at < now() - make_interval(secs => $1 / 1000.0)
       ORDER BY created_at LIMIT $2`,
      [olderThanMs, limit],
    );
    await this.enqueue(rows.map((r) => r.id));
    return rows.length;
  }
}

function idsOfEvent(event: PspEvent): Record<string, unknown> {
  const metadata = ((event.payload.data as Record<string, unknown> | undefined)?.metadata ?? {}) as Record<
    string,
    unknown
  >;
  return { eventId: event.id, pspPaymentId: event.paymentId, orderId: metadata.orderId, paymentId: metadata.paymentId };
}
