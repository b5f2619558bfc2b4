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
import { ChaosService } from './chaos.service.js';
import { PspEvent } from './psp-event.entity.js';
import { PspMetrics, endpointLabel, type DeliveryOutcome } from './psp-metrics.js';

export interface DeliverJob {
  eventId: string;
}

/** Name of the delivery queue's backoff strategy (registered in PspMockModule). */
export const RETRY_AFTER_BACKOFF = 'retry-after-or-exponential';
/** The longest Retry-After the sender honours; a longer one is clamped to this. */
export const MAX_RETRY_AFTER_MS = 10 * 60_000;

/** A failed attempt whose answer (429 or 503) said when to come back. */
export class RetryAfterError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(message);
    this.name = 'RetryAfterError';
  }
}

/**
 * Bull backoff strategy of the delivery queue: exponential (as Bull's built-in, from
 * `options.delay`), but never earlier than the receiver's Retry-After.
 */
export function retryAfterBackoff(attemptsMade: number, err: unknown, options?: { delay?: number } | null): number {
  const exponential = Math.round((Math.pow(2, attemptsMade) - 1) * (options?.delay ?? 1000));
  const retryAfterMs = err instanceof RetryAfterError ? err.retryAfterMs : 0;
  return Math.max(exponential, retryAfterMs);
}

/**
 * Retry-After as milliseconds from `nowMs`: delta-seconds or an HTTP date, clamped to
 * 0..MAX_RETRY_AFTER_MS; null when absent or unreadable.
 */
export function parseRetryAfter(value: string | string[] | undefined, nowMs = Date.now()): number | null {
  const raw = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!raw) return null;
  let ms: number;
  if (/^\d+$/.test(raw)) ms = Number(raw) * 1000;
  else if (/^[-+.\d]+$/.test(raw)) return null;
  else {
    const at = Date.parse(raw);
    if (Number.isNaN(at)) return null;
    ms = at - nowMs;
  }
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

export interface AttemptInfo {
  /** Attempts already made for this delivery (0 on the first). */
  attemptsMade: number;
  finalAttempt: boolean;
}

export type DeliveryResult = 'delivered' | 'already-delivered' | 'gone';

/**
 * The PSP mock's small webhook sender: signs each event (PSP_SIGNATURE_SCHEME) and
 * POSTs it to the payment's callback URL, retrying non-2xx answers with exponential
 * backoff (Bull attempts), never sooner than a 429/503's Retry-After. One provider,
 * so a full delivery engine can replace it.
 *
 * Chaos (ChaosService) acts here: the first attempt of a share of deliveries is
 * tampered (one body byte changed after signing, so the receiver must answer 401;
 * the retry is signed correctly), and a share of delivered events is POSTed a second
 * time (same event_id) right after the first POST was answered 2xx.
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
    private readonly chaos: ChaosService,
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

  /**
   * Job id = event id, so enqueueing an event twice delivers it once. `delayMs`: wait
   * this long before the first attempt (chaos deliveryDelayMs / reorderRate).
   */
  async enqueue(eventIds: string[], delayMs = 0): Promise<void> {
    if (eventIds.length === 0) return;
    try {
      await this.queue.addBulk(
        eventIds.map((eventId) => ({
          name: JobName.DeliverEvent,
          data: { eventId },
          opts: {
            jobId: eventId,
            attempts: this.attempts,
            backoff: { type: RETRY_AFTER_BACKOFF, options: { delay: this.backoffMs } },
            ...(delayMs > 0 ? { delay: delayMs } : {}),
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
   * One delivery attempt. Throws on anything but a 2xx so Bull retries with backoff
   * (a RetryAfterError when the answer carried Retry-After); `finalAttempt` marks the
   * delivery failed for good.
   */
  async deliver(eventId: string, { attemptsMade, finalAttempt }: AttemptInfo): Promise<DeliveryResult> {
    const event = await this.db.getRepository(PspEvent).findOneBy({ id: eventId });
    if (!event || !event.callbackUrl) return 'gone';
    if (event.deliveryStatus === 'delivered') return 'already-delivered';
    const chaos = await this.chaos.get();
    const tampered = attemptsMade === 0 && chaos.tamperRate > 0 && Math.random() < chaos.tamperRate;
    const endpoint = endpointLabel(event.callbackUrl);
    const started = Date.now();
    const answer = await this.post(event, tampered);
    const ms = Date.now() - started;
    const failure = answer.failure;
    const attempt = { outcome: (failure === null ? 'delivered' : 'failed') satisfies DeliveryOutcome, endpoint };
    this.metrics.deliveryAttemptSeconds.observe(attempt, ms / 1000);
    if (tampered) {
      this.metrics.deliveries.inc({ outcome: failure === null ? 'tampered_accepted' : 'tampered', endpoint });
      if (failure === null) {
        this.logger.error({
          msg: `Tampered delivery of ${event.id} was accepted by ${new URL(event.callbackUrl).origin}`,
          ...idsOfEvent(event),
        });
      }
    } else {
      this.metrics.deliveries.inc(attempt);
    }
    if (failure === null) {
      await this.db.query(
        `UPDATE psp_events SET delivery_status = 'delivered', delivered_at = now(), delivery_attempts = delivery_attempts + 1, last_delivery_error = NULL WHERE id = $1`,
        [eventId],
      );
      this.logger.log({
        msg: `Delivered ${event.type} ${event.id} for ${event.paymentId} in ${ms} ms`,
        ...idsOfEvent(event),
      });
      if (chaos.duplicateRate > 0 && Math.random() < chaos.duplicateRate) await this.duplicate(event);
      return 'delivered';
    }
    const error = tampered ? `${failure} (signature tampered by chaos)` : failure;
    await this.db.query(
      `UPDATE psp_events SET delivery_attempts = delivery_attempts + 1, last_delivery_error = $2,
              delivery_status = CASE WHEN $3 THEN 'failed' ELSE delivery_status END
        WHERE id = $1`,
      [eventId, error.slice(0, 500), finalAttempt],
    );
    this.logger.warn({
      msg: `Delivery of ${event.id} to ${new URL(event.callbackUrl).origin} failed after ${ms} ms: ${error}${finalAttempt ? ' (giving up)' : answer.retryAfterMs !== null ? ` (will retry, not before ${answer.retryAfterMs} ms)` : ' (will retry)'}`,
      ...idsOfEvent(event),
    });
    const message = `Delivery of ${event.id} failed: ${error}`;
    throw answer.retryAfterMs !== null ? new RetryAfterError(message, answer.retryAfterMs) : new Error(message);
  }

  /** The second POST of a duplicated delivery (chaos duplicateRate): same event, same event_id, signed anew. */
  private async duplicate(event: PspEvent): Promise<void> {
    const endpoint = endpointLabel(event.callbackUrl);
    this.metrics.deliveries.inc({ outcome: 'duplicated', endpoint });
    const { failure } = await this.post(event, false);
    this.logger.log({
      msg: `Sent ${event.id} a second time (chaos duplicate): ${failure ?? 'answered 2xx'}`,
      ...idsOfEvent(event),
    });
  }

  /** One signed POST of an event; `tamper` changes one body byte after signing. */
  private async post(
    event: PspEvent,
    tamper: boolean,
  ): Promise<{ failure: string | null; retryAfterMs: number | null }> {
    const body = JSON.stringify(event.payload);
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = this.signer.sign(event.id, timestamp, body);
    // `{"event_id":"evt_…` → `{"event_id":"Evt_…`: same length, still JSON, signature no longer matches.
    const sent = tamper ? tamperBody(body) : body;
    try {
      const res = await request(event.callbackUrl!, {
        method: 'POST',
        dispatcher: this.agent,
        headers: { 'content-type': 'application/json', 'user-agent': 'hookline-psp-mock/1.0', ...headers },
        body: sent,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
      await res.body.dump();
      if (res.statusCode >= 200 && res.statusCode < 300) return { failure: null, retryAfterMs: null };
      const retryAfterMs =
        res.statusCode === 429 || res.statusCode === 503 ? parseRetryAfter(res.headers['retry-after']) : null;
      return { failure: `HTTP ${res.statusCode}`, retryAfterMs };
    } catch (err) {
      return { failure: (err as Error).message || String(err), retryAfterMs: null };
    }
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

/** The body with one byte changed (the first letter after the first quote-colon-quote). */
export function tamperBody(body: string): string {
  const i = body.indexOf(':"') + 2;
  if (i < 2 || i >= body.length) return body + ' ';
  const c = body[i];
  const swapped = c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase();
  return body.slice(0, i) + (swapped === c ? (c === 'x' ? 'y' : 'x') : swapped) + body.slice(i + 1);
}

function idsOfEvent(event: PspEvent): Record<string, unknown> {
  const metadata = ((event.payload.data as Record<string, unknown> | undefined)?.metadata ?? {}) as Record<
    string,
    unknown
  >;
  return { eventId: event.id, pspPaymentId: event.paymentId, orderId: metadata.orderId, paymentId: metadata.paymentId };
}
