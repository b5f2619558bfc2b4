import { InjectQueue } from '@nestjs/bull';
import { Injectable, Logger } from '@nestjs/common';
import type { Queue } from 'bull';
import { DomainError, notFound } from '../common/errors/domain-error.js';
import { prefixedId, prefixedIdPattern } from '../common/ids.js';
import { JobName, QueueName, defaultJobOptions } from '../queue/queues.js';
import { ChaosService } from './chaos.service.js';
import type { ChaosSettings } from './dto/chaos.dto.js';
import type { CreatePspPaymentDto } from './dto/psp-payment.dto.js';
import { PSP_EVENT_TYPES, PspEvent, type PspEventType } from './psp-event.entity.js';
import type { RequestKey } from '../http/idempotency/idempotency-on-row.interceptor.js';
import { PspMetrics, endpointLabel } from './psp-metrics.js';
import { PspPayment } from './psp-payment.entity.js';
import { PspEventsRepository } from './psp-events.repository.js';
import { PspPaymentsRepository, type PspPaymentRow } from './psp-payments.repository.js';
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
  /**
   * The payment as created (its fields never change): the settlement needs no read of its
   * own. Absent from the sweeper's jobs (and jobs queued before it was added): read then.
   */
  payment?: PaymentSnapshot;
}

/** A payment's row as the settlement uses it, in a job's JSON (created_at as text). */
export type PaymentSnapshot = Omit<PspPaymentRow, 'created_at'> & { created_at: string };

/** Longest long poll the PSP holds (GET …?wait=N). */
export const MAX_WAIT_S = 30;

/** The PSP mock's core: accepts payments, settles them later, writes and lists their events. */
@Injectable()
export class PspMockService {
  private readonly logger = new Logger('PspMock');

  constructor(
    private readonly payments: PspPaymentsRepository,
    private readonly events: PspEventsRepository,
    @InjectQueue(QueueName.PspSettlement) private readonly settlements: Queue<SettleJob>,
    private readonly outbox: WebhookOutbox,
    private readonly chaos: ChaosService,
    private readonly notifier: SettlementNotifier,
    private readonly metrics: PspMetrics,
    private readonly sender: DirectSender,
  ) {}

  /**
   * Stores a payment as processing and schedules its settlement. `idPrefix`: `pi` for a
   * Stripe PaymentIntent, as Stripe names them. With `key` (the route's Idempotency-Key),
   * the INSERT is also the key's claim: a repeat of the key answers the payment it made
   * first (`repeatOf`: that request's hash) and creates nothing.
   */
  async createPayment(
    dto: CreatePspPaymentDto,
    idPrefix: 'pay' | 'pi' = 'pay',
    key: RequestKey | null = null,
  ): Promise<{ payment: PspPayment; repeatOf: string | null }> {
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
    // The creating request's span (tracing on): the settlement links to its trace.
    const traceContext = activeTraceparent();
    // One statement: the INSERT, or the payment the key made first (docs/decisions/0026-psp-native-idempotency.md).
    for (let attempt = 0; attempt < 3; attempt++) {
      const row = await this.payments.create(payment, key, traceContext);
      if (!row) continue; // made by a concurrent request this statement's snapshot predates: read again
      if (row.expired) {
        // The key's first use is past IDEMPOTENCY_TTL_H: the key is free again.
        await this.payments.releaseKey(row.id);
        continue;
      }
      if (!row.created) {
        // The first answer as it was: processing, unsettled, one request served.
        const first = Object.assign(paymentOf(row, 'processing', null), { requestsServed: 1 });
        return { payment: first, repeatOf: row.idempotency_request_hash };
      }
      payment.createdAt = row.created_at;
      const { settleDelayMs } = await this.chaos.get();
      await this.scheduleSettlement(payment.id, drawBetween(settleDelayMs.min, settleDelayMs.max), {
        ...row,
        created_at: row.created_at.toISOString(),
      });
      this.logger.log({
        msg: `PSP payment ${payment.id} created: ${payment.amount} ${payment.currency} ${payment.paymentMethod}`,
        ...idsOf(payment),
      });
      return { payment, repeatOf: null };
    }
    throw new Error(`Idempotency-Key ${key?.key}: no payment made nor found after 3 tries`);
  }

  /**
   * A payment's current state (short poll), counted as one request served. With
   * `waitS`, a long poll: answers as soon as the payment is final, or unchanged after
   * `waitS` seconds, or when `signal` aborts (client gone, shutdown).
   */
  async getPayment(id: string, waitS?: number, signal?: AbortSignal): Promise<PspPayment> {
    this.metrics.requests.inc({ route: waitS ? 'get_payment_wait' : 'get_payment' });
    if (!PSP_PAYMENT_ID.test(id)) throw notFound('PSP.PAYMENT_NOT_FOUND', 'Payment', id);
    const status = await this.payments.countServed(id);
    if (status === null) throw notFound('PSP.PAYMENT_NOT_FOUND', 'Payment', id);
    if (!waitS || status !== 'processing') return this.read(id);

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
    let afterSeq: string | undefined;
    if (q.after) {
      const seq = await this.events.seqOf(q.after);
      if (seq === null) {
        throw new DomainError('PSP.INVALID_CURSOR', 400, 'Unknown cursor', `No event ${q.after} to list after.`);
      }
      afterSeq = seq;
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
    }
    const rows = await this.events.page({ afterSeq, type: q.type, take: limit + 1 });
    return { data: rows.slice(0, limit), hasMore: rows.length > limit };
  }

  /** Job id = payment id: scheduling twice settles once. If Redis is down, the sweeper reschedules. */
  async scheduleSettlement(pspPaymentId: string, delayMs: number, payment?: PaymentSnapshot): Promise<void> {
    try {
      await this.settlements.add(
        JobName.SettlePayment,
        { pspPaymentId, ...(payment && { payment: snapshotOf(payment) }) },
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
  async settle(pspPaymentId: string, snapshot?: PaymentSnapshot): Promise<PspEvent | null> {
    const chaos = await this.chaos.get();
    // What the settlement writes is decided from the payment as created (its amount,
    // method, metadata… never change: its job carries them, decision 0029); the settling
    // statement moves it only if it is still processing, so a concurrent or late settle of
    // the same payment writes nothing.
    const found =
      snapshot?.id === pspPaymentId
        ? { ...snapshot, created_at: new Date(snapshot.created_at) }
        : await this.payments.findUnsettled(pspPaymentId);
    if (!found) return null;
    const now = new Date();
    const declined = DECLINED_METHODS.has(found.payment_method) || Math.random() < chaos.declineRate;
    const payment = paymentOf(found, declined ? 'failed' : 'completed', now);
    const status = payment.status;
    const id = prefixedId('evt');
    const span = settlementSpan(found.trace_context ?? null, payment, id);
    // A PaymentIntent of the Stripe dialect reports in Stripe's envelope.
    const stripeEvent = isStripePaymentMethod(payment.paymentMethod) ? stripeEventOf(id, payment, now) : null;
    const type: PspEventType = stripeEvent?.type ?? (status === 'completed' ? 'payment.completed' : 'payment.failed');
    const dropped = payment.callbackUrl !== null && Math.random() < chaos.dropRate;
    const endpoint = endpointLabel(payment.callbackUrl);
    const delay = this.deliveryDelay(chaos);
    const event = Object.assign(new PspEvent(), {
      id,
      type,
      paymentId: payment.id,
      createdAt: now,
      callbackUrl: payment.callbackUrl,
      deliveryStatus: payment.callbackUrl ? (dropped ? 'dropped' : 'pending') : 'none',
      deliveryAttempts: 0,
      deliveredAt: null,
      lastDeliveryError: null,
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
    } satisfies Omit<PspEvent, 'seq'>);
    // The payment settled, its event, the event's message and deliveries: one statement,
    // atomic without BEGIN … COMMIT (docs/decisions/0025-psp-settlement-one-statement.md).
    const { published } = await this.outbox
      .publishWithin(
        this.payments.manager,
        this.payments.settlementSource({
          paymentId: payment.id,
          status,
          at: now,
          event,
          // Its deliveries (the webhook to callback_url) continue the settlement's trace.
          traceContext: traceparentOf(span),
        }),
        {
          owner: 'psp',
          callbackUrl: payment.callbackUrl,
          dropCallback: dropped,
          delayMs: delay.delayMs,
          // Not held back by chaos: the first attempt is sent at once, without a job.
          sendCallbackDirectly: delay.delayMs === 0,
        },
      )
      .finally(() => span?.end());
    if (!published) return null;
    if (delay.delayed) this.metrics.deliveries.inc({ outcome: 'delayed', endpoint });
    if (delay.reordered) this.metrics.deliveries.inc({ outcome: 'reordered', endpoint });
    this.logger.log({
      msg: `PSP payment ${payment.id} settled ${status}; event ${id}${dropped ? ' (delivery dropped by chaos)' : ''}`,
      ...idsOf(payment),
      eventId: id,
    });
    if (delay.delayMs === 0 && published.callbackDeliveryId && event.deliveryStatus === 'pending') {
      this.sender.send('psp', published.callbackDeliveryId, published.callbackDelivery);
    }
    if (event.deliveryStatus === 'dropped') this.metrics.deliveries.inc({ outcome: 'dropped', endpoint });
    await this.notifier.publish(pspPaymentId);
    return event;
  }

  /**
   * Chaos on the way out: every delivery waits a delay drawn from deliveryDelayMs, and
   * a share (reorderRate) waits 1–3 s more, so that events settled after it (of other
   * payments: a payment has one settlement event) reach the shop first.
   */
  private deliveryDelay(chaos: ChaosSettings): { delayMs: number; delayed: boolean; reordered: boolean } {
    const delayed = drawBetween(chaos.deliveryDelayMs.min, chaos.deliveryDelayMs.max);
    const reordered = chaos.reorderRate > 0 && Math.random() < chaos.reorderRate;
    const delayMs = delayed + (reordered ? drawBetween(REORDER_HOLD_MS.min, REORDER_HOLD_MS.max) : 0);
    return { delayMs, delayed: delayed > 0, reordered };
  }

  /** Processing payments whose settlement job must have been lost (e.g. Redis flushed). */
  async sweepUnsettled(limit = 500): Promise<number> {
    const graceMs = (await this.chaos.get()).settleDelayMs.max + 30_000;
    const ids = await this.payments.findOverdue(graceMs, limit);
    for (const id of ids) await this.scheduleSettlement(id, 0);
    if (ids.length > 0) this.logger.warn(`Rescheduled settlement of ${ids.length} overdue PSP payment(s)`);
    return ids.length;
  }

  private async read(id: string): Promise<PspPayment> {
    return this.payments.getById(id);
  }
}

/** The ids a log line carries so that one grep follows a payment (the shop's ids come from metadata). */
function idsOf(payment: PspPayment): Record<string, string | undefined> {
  return { pspPaymentId: payment.id, orderId: payment.metadata.orderId, paymentId: payment.metadata.paymentId };
}

function drawBetween(min: number, max: number): number {
  return min + Math.floor(Math.random() * (max - min + 1));
}

/** Only the snapshot's fields (the create's row has more). */
function snapshotOf(p: PaymentSnapshot): PaymentSnapshot {
  return {
    id: p.id,
    amount: p.amount,
    currency: p.currency,
    payment_method: p.payment_method,
    callback_url: p.callback_url,
    metadata: p.metadata,
    created_at: p.created_at,
    requests_served: p.requests_served,
    event_format: p.event_format,
    trace_context: p.trace_context ?? null,
  };
}

/** Declined at settlement, whatever chaos draws: the mock's and the Stripe dialect's declining test cards. */
const DECLINED_METHODS = new Set(['pm_card_declined', 'pm_card_chargeDeclined']);

function paymentOf<S extends PspPayment['status']>(
  r: PspPaymentRow,
  status: S,
  settledAt: Date | null,
): PspPayment & { status: S } {
  return Object.assign(new PspPayment(), {
    id: r.id,
    amount: Number(r.amount),
    currency: r.currency,
    status,
    paymentMethod: r.payment_method,
    callbackUrl: r.callback_url,
    metadata: r.metadata,
    createdAt: r.created_at,
    settledAt,
    requestsServed: r.requests_served,
    eventFormat: r.event_format,
  });
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
