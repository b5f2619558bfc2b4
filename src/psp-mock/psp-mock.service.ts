import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity.js';
import { InjectQueue } from '@nestjs/bull';
import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Queue } from 'bull';
import { DataSource } from 'typeorm';
import { DomainError, notFound } from '../common/errors/domain-error.js';
import { prefixedId, prefixedIdPattern } from '../common/ids.js';
import { preparedQuery } from '../common/db/prepared-query.js';
import { JobName, QueueName, defaultJobOptions } from '../queue/queues.js';
import { ChaosService } from './chaos.service.js';
import type { ChaosSettings } from './dto/chaos.dto.js';
import type { CreatePspPaymentDto } from './dto/psp-payment.dto.js';
import { PSP_EVENT_TYPES, PspEvent, type PspEventType } from './psp-event.entity.js';
import { PspMetrics, endpointLabel } from './psp-metrics.js';
import { PspPayment, type PspEventFormat } from './psp-payment.entity.js';
import { SettlementNotifier } from './settlement-notifier.js';
import { isStripePaymentMethod, stripeEventOf } from './stripe/stripe-objects.js';
import { DirectSender } from '../webhooks/outbound/direct-sender.js';
import { WebhookOutbox } from '../webhooks/outbound/webhook-outbox.js';
import { SpanKind, activeTraceparent, linksTo, traceparentOf, tracer, type Span } from '../telemetry/trace-context.js';

// `pi_…` for the Stripe dialect's PaymentIntents, `pay_…` for the mock's own API.
const PSP_PAYMENT_ID = prefixedIdPattern('(pay|pi)');

/** How much longer a reordered delivery (chaos reorderRate) is held back. */
export const REORDER_HOLD_MS = { min: 1000, max: 3000 };

export interface SettleJob {
  pspPaymentId: string;
}

/** Longest long poll the PSP holds (GET …?wait=N). */
export const MAX_WAIT_S = 30;

/** The PSP mock's core: accepts payments, settles them later, writes and lists their events. */
@Injectable()
export class PspMockService {
  private readonly logger = new Logger('PspMock');

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @InjectQueue(QueueName.PspSettlement) private readonly settlements: Queue<SettleJob>,
    private readonly outbox: WebhookOutbox,
    private readonly chaos: ChaosService,
    private readonly notifier: SettlementNotifier,
    private readonly metrics: PspMetrics,
    private readonly sender: DirectSender,
  ) {}

  /**
   * Stores a payment as processing and schedules its settlement. (Idempotency-Key: the
   * route's interceptor.) `idPrefix`: `pi` for a Stripe PaymentIntent, as Stripe names them.
   */
  async createPayment(dto: CreatePspPaymentDto, idPrefix: 'pay' | 'pi' = 'pay'): Promise<PspPayment> {
    this.metrics.requests.inc({ route: 'create_payment' });
    const payment = Object.assign(new PspPayment(), {
      id: prefixedId(idPrefix),
      amount: dto.amount,
      currency: dto.currency,
      status: 'processing' as const,
      paymentMethod: dto.payment_method ?? 'pm_card_ok',
      callbackUrl: dto.callback_url ?? null,
      metadata: dto.metadata ?? {},
      eventFormat: dto.event_format ?? 'snapshot',
      settledAt: null,
      requestsServed: 1,
    });
    // One INSERT: save() would look the given id up first and wrap the INSERT in BEGIN … COMMIT.
    const [row] = await preparedQuery<{ created_at: Date }>(
      this.db.manager,
      'hookline_psp_payments_create',
      `INSERT INTO psp_payments (id, amount, currency, status, payment_method, callback_url, metadata, requests_served, event_format,
                                 trace_context)
       VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10) RETURNING created_at`,
      [
        payment.id,
        payment.amount,
        payment.currency,
        payment.status,
        payment.paymentMethod,
        payment.callbackUrl,
        JSON.stringify(payment.metadata),
        payment.requestsServed,
        payment.eventFormat,
        // The creating request's span (tracing on): the settlement links to its trace.
        activeTraceparent(),
      ],
    );
    payment.createdAt = row.created_at;
    const { settleDelayMs } = await this.chaos.get();
    await this.scheduleSettlement(payment.id, drawBetween(settleDelayMs.min, settleDelayMs.max));
    this.logger.log({
      msg: `PSP payment ${payment.id} created: ${payment.amount} ${payment.currency} ${payment.paymentMethod}`,
      ...idsOf(payment),
    });
    return payment;
  }

  /**
   * A payment's current state (short poll), counted as one request served. With
   * `waitS`, a long poll: answers as soon as the payment is final, or unchanged after
   * `waitS` seconds, or when `signal` aborts (client gone, shutdown).
   */
  async getPayment(id: string, waitS?: number, signal?: AbortSignal): Promise<PspPayment> {
    this.metrics.requests.inc({ route: waitS ? 'get_payment_wait' : 'get_payment' });
    if (!PSP_PAYMENT_ID.test(id)) throw notFound('PSP.PAYMENT_NOT_FOUND', 'Payment', id);
    const rows: PspPayment[] = await this.db
      .createQueryBuilder()
      .update(PspPayment)
      .set({ requestsServed: () => 'requests_served + 1' })
      .where('id = :id', { id })
      .returning('*')
      .execute()
      .then((r) => r.raw as PspPayment[]);
    if (rows.length === 0) throw notFound('PSP.PAYMENT_NOT_FOUND', 'Payment', id);
    if (!waitS || rows[0].status !== 'processing') return this.read(id);

    const waitMs = Math.min(waitS, MAX_WAIT_S) * 1000;
    const waiter = await this.notifier.prepareWait(id, waitMs, signal);
    this.metrics.longPollsOpen.inc();
    try {
      // Settled between the first read and the subscription? Then answer now.
      const now = await this.read(id);
      if (now.status !== 'processing') return now;
      await waiter.done;
      return await this.read(id);
    } finally {
      waiter.cancel();
      this.metrics.longPollsOpen.dec();
    }
  }

  /** Events in the order they happened, after the event `after` (cursor pagination). */
  async listEvents(q: {
    after?: string;
    limit?: number;
    type?: string;
  }): Promise<{ data: PspEvent[]; hasMore: boolean }> {
    this.metrics.requests.inc({ route: 'list_events' });
    const limit = q.limit ?? 100;
    const repo = this.db.getRepository(PspEvent);
    // The mock's own events only: the Stripe dialect's are listed at /v1/events.
    const qb = repo
      .createQueryBuilder('e')
      .where('e.type IN (:...types)', { types: PSP_EVENT_TYPES })
      .orderBy('e.seq', 'ASC')
      .take(limit + 1);
    if (q.after) {
      const cursor = await repo.findOne({ where: { id: q.after }, select: { seq: true } });
      if (!cursor) {
        throw new DomainError('PSP.INVALID_CURSOR', 400, 'Unknown cursor', `No event ${q.after} to list after.`);
      }
      qb.andWhere('e.seq > :seq', { seq: cursor.seq });
    }
    if (q.type) {
      if (!(PSP_EVENT_TYPES as readonly string[]).includes(q.type)) {
        throw new DomainError(
          'PSP.INVALID_EVENT_TYPE',
          400,
          'Unknown event type',
          `type must be one of ${PSP_EVENT_TYPES.join(', ')}.`,
        );
      }
      qb.andWhere('e.type = :type', { type: q.type });
    }
    const rows = await qb.getMany();
    return { data: rows.slice(0, limit), hasMore: rows.length > limit };
  }

  /** Job id = payment id: scheduling twice settles once. If Redis is down, the sweeper reschedules. */
  async scheduleSettlement(pspPaymentId: string, delayMs: number): Promise<void> {
    try {
      await this.settlements.add(
        JobName.SettlePayment,
        { pspPaymentId },
        { ...defaultJobOptions, jobId: pspPaymentId, delay: delayMs },
      );
    } catch (err) {
      this.logger.warn(
        `Could not schedule settlement of ${pspPaymentId}, the sweeper will retry: ${(err as Error).message}`,
      );
    }
  }

  /**
   * Settles a processing payment: pm_card_declined fails, so does a share of the rest
   * (chaos declineRate). The status change, its event and the event's outbound
   * message with its deliveries (the payment's callback_url and the PSP's registered
   * endpoints) commit together; the deliveries are enqueued on commit (held back by
   * chaos deliveryDelayMs / reorderRate; the callback one dropped by chaos dropRate)
   * and long polls are woken. A callback delivery not held back is sent right after the
   * commit (DirectSender), not through the queue.
   */
  async settle(pspPaymentId: string): Promise<PspEvent | null> {
    const chaos = await this.chaos.get();
    let sendNow: string | null = null;
    let span: Span | null = null;
    const settling = this.db.transaction(async (manager) => {
      // The payment moves and is read back in one statement: the row lock it takes makes a
      // concurrent settle of the same payment (the sweeper, a second job) find it settled.
      const now = new Date();
      const declineDraw = Math.random() < chaos.declineRate;
      const rows: SettledRow[] = await manager.query(SETTLE_SQL, [pspPaymentId, declineDraw, now]);
      if (rows.length === 0) return null;
      const payment = settledPayment(rows[0]);
      const status = payment.status;
      const id = prefixedId('evt');
      span = settlementSpan(rows[0].trace_context, payment, id);
      // A PaymentIntent of the Stripe dialect reports in Stripe's envelope.
      const stripeEvent = isStripePaymentMethod(payment.paymentMethod) ? stripeEventOf(id, payment, now) : null;
      const type: PspEventType = stripeEvent?.type ?? (status === 'completed' ? 'payment.completed' : 'payment.failed');
      const dropped = payment.callbackUrl !== null && Math.random() < chaos.dropRate;
      const row = manager.create(PspEvent, {
        id,
        type,
        paymentId: payment.id,
        createdAt: now,
        callbackUrl: payment.callbackUrl,
        deliveryStatus: payment.callbackUrl ? (dropped ? 'dropped' : 'pending') : 'none',
        deliveryAttempts: 0,
        payload: (stripeEvent as unknown as Record<string, unknown> | null) ?? {
          event_id: id,
          type,
          created_at: now.toISOString(),
          // Thin: ids only (the receiver fetches the state); snapshot: the state itself.
          data:
            payment.eventFormat === 'thin'
              ? { payment_id: payment.id, metadata: payment.metadata }
              : {
                  payment_id: payment.id,
                  status,
                  amount: payment.amount,
                  currency: payment.currency,
                  metadata: payment.metadata,
                },
        },
      });
      // insert, not save: save() would first look the new id up.
      await manager.insert(PspEvent, row as QueryDeepPartialEntity<PspEvent>);
      const delayMs = this.deliveryDelay(chaos, endpointLabel(payment.callbackUrl));
      // Not held back by chaos: the first attempt is sent once this commits, without a job.
      const published = await this.outbox.publish(manager, {
        owner: 'psp',
        eventId: id,
        eventType: type,
        payload: row.payload,
        callbackUrl: payment.callbackUrl,
        dropCallback: dropped,
        delayMs,
        sendCallbackDirectly: delayMs === 0,
        // Its deliveries (the webhook to callback_url) continue the settlement's trace.
        traceparent: traceparentOf(span),
      });
      if (delayMs === 0) sendNow = published.callbackDeliveryId;
      this.logger.log({
        msg: `PSP payment ${payment.id} settled ${status}; event ${id}${dropped ? ' (delivery dropped by chaos)' : ''}`,
        ...idsOf(payment),
        eventId: id,
      });
      return row;
    });
    const event = await settling.finally(() => span?.end());
    if (!event) return null;
    if (sendNow && event.deliveryStatus === 'pending') this.sender.send('psp', sendNow);
    if (event.deliveryStatus === 'dropped') {
      this.metrics.deliveries.inc({ outcome: 'dropped', endpoint: endpointLabel(event.callbackUrl) });
    }
    await this.notifier.publish(pspPaymentId);
    return event;
  }

  /**
   * Chaos on the way out: every delivery waits a delay drawn from deliveryDelayMs, and
   * a share (reorderRate) waits 1–3 s more, so that events settled after it (of other
   * payments: a payment has one settlement event) reach the shop first.
   */
  private deliveryDelay(chaos: ChaosSettings, endpoint: string): number {
    let delayMs = drawBetween(chaos.deliveryDelayMs.min, chaos.deliveryDelayMs.max);
    if (delayMs > 0) this.metrics.deliveries.inc({ outcome: 'delayed', endpoint });
    if (chaos.reorderRate > 0 && Math.random() < chaos.reorderRate) {
      delayMs += drawBetween(REORDER_HOLD_MS.min, REORDER_HOLD_MS.max);
      this.metrics.deliveries.inc({ outcome: 'reordered', endpoint });
    }
    return delayMs;
  }

  /** Processing payments whose settlement job must have been lost (e.g. Redis flushed). */
  async sweepUnsettled(limit = 500): Promise<number> {
    const graceMs = (await this.chaos.get()).settleDelayMs.max + 30_000;
    const rows: { id: string }[] = await this.db.query(
      `SELECT id FROM psp_payments WHERE status = 'processing' AND created_at < now() - make_interval(secs => $1 / 1000.0)
       ORDER BY created_at LIMIT $2`,
      [graceMs, limit],
    );
    for (const { id } of rows) await this.scheduleSettlement(id, 0);
    if (rows.length > 0) this.logger.warn(`Rescheduled settlement of ${rows.length} overdue PSP payment(s)`);
    return rows.length;
  }

  private async read(id: string): Promise<PspPayment> {
    return this.db.getRepository(PspPayment).findOneByOrFail({ id });
  }
}

/** The ids a log line carries so that one grep follows a payment (the shop's ids come from metadata). */
function idsOf(payment: PspPayment): Record<string, string | undefined> {
  return { pspPaymentId: payment.id, orderId: payment.metadata.orderId, paymentId: payment.metadata.paymentId };
}

function drawBetween(min: number, max: number): number {
  return min + Math.floor(Math.random() * (max - min + 1));
}

/**
 * Settles a processing payment: declined for pm_card_declined (Stripe dialect: pm_card_chargeDeclined) or when chaos drew a decline
 * ($2). In a CTE so that TypeORM answers the rows themselves (an UPDATE's answer is
 * [rows, count]).
 */
const SETTLE_SQL = `
WITH settled AS (
  UPDATE psp_payments
     SET status = CASE WHEN payment_method IN ('pm_card_declined', 'pm_card_chargeDeclined') OR $2 THEN 'failed' ELSE 'completed' END,
         settled_at = $3
   WHERE id = $1 AND status = 'processing'
  RETURNING id, amount, currency, status, payment_method, callback_url, metadata, created_at, settled_at, requests_served,
            event_format, trace_context
)
SELECT * FROM settled`;

interface SettledRow {
  id: string;
  amount: string;
  currency: string;
  status: 'completed' | 'failed';
  payment_method: string;
  callback_url: string | null;
  metadata: Record<string, string>;
  created_at: Date;
  settled_at: Date;
  requests_served: number;
  event_format: PspEventFormat;
  trace_context: string | null;
}

/**
 * The settlement's span (tracing on, and the payment created with a trace context): a
 * trace of its own that links to the payment's — it runs later, from a delayed job, as a
 * real PSP's settlement would (docs/decisions/1202-trace-context-per-row.md).
 */
function settlementSpan(creation: string | null, payment: PspPayment, eventId: string): Span | null {
  const links = linksTo(creation, { 'hookline.link': 'payment created' });
  if (links.length === 0) return null;
  return tracer.startSpan('psp.settle', {
    root: true,
    kind: SpanKind.CONSUMER,
    links,
    attributes: {
      'hookline.psp.payment_id': payment.id,
      'hookline.psp.status': payment.status,
      'hookline.webhook.event_id': eventId,
    },
  });
}

function settledPayment(r: SettledRow): PspPayment & { status: 'completed' | 'failed' } {
  return Object.assign(new PspPayment(), {
    id: r.id,
    amount: Number(r.amount),
    currency: r.currency,
    status: r.status,
    paymentMethod: r.payment_method,
    callbackUrl: r.callback_url,
    metadata: r.metadata,
    createdAt: r.created_at,
    settledAt: r.settled_at,
    requestsServed: r.requests_served,
    eventFormat: r.event_format,
  });
}
