import { isUuid } from '../common/ids.js';
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { AllConfig } from '../config/env.js';
import { DomainError, notFound } from '../common/errors/domain-error.js';
import { OrdersService } from '../orders/orders.service.js';
import type { CreatePaymentDto } from './dto/payment.dto.js';
import type { PaymentStrategy } from './payment-status.js';
import type { PaymentTimelineEntry, TimelineType } from './payment-timeline-entry.entity.js';
import type { Payment } from './payment.entity.js';
import { PaymentsRepository, type KeyedPayment } from './payments.repository.js';
import type { RequestKey } from '../http/idempotency/idempotency-on-row.interceptor.js';
import { PollWakeups } from './polling/poll-wakeups.js';
import { PspClient } from './psp/psp.client.js';
import { activeTraceId, activeTraceparent } from '../telemetry/trace-context.js';

/**
 * What starting a payment answers: the payment; or, for a repeat of an Idempotency-Key,
 * the key's payment as its first request answered it, with that request's hash and
 * whether it is still running (`repeatOf`), for the caller to compare and answer.
 */
export interface PaymentAnswer {
  payment: Payment;
  repeatOf: { requestHash: string; running: boolean } | null;
}

/**
 * Starts payments: creates an order's payment and hands it to the PSP. Also reads a
 * payment with its timeline. PSP results change payments in PspResultsService.
 */
@Injectable()
export class PaymentsService {
  private readonly logger = new Logger('Payments');
  private readonly callbackUrl: string;
  private readonly deadlineMs: number;
  private readonly shortPollIntervalMs: number;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly payments: PaymentsRepository,
    private readonly orders: OrdersService,
    private readonly psp: PspClient,
    private readonly pollWakeups: PollWakeups,
    config: ConfigService<AllConfig, true>,
  ) {
    this.callbackUrl = `${config.get('PUBLIC_BASE_URL', { infer: true })}/webhooks/psp`;
    this.deadlineMs = config.get('WEBHOOK_DEADLINE_MS', { infer: true });
    this.shortPollIntervalMs = config.get('SHORT_POLL_INTERVAL_MS', { infer: true });
  }

  /**
   * Creates a payment for an order and hands it to the PSP with "call me back at
   * /webhooks/psp". The payment row exists before the PSP call and its id is the PSP
   * idempotency key, so a repeated PSP call can never create a second PSP payment.
   *
   * If the PSP call fails in a way that leaves its outcome unknown (unreachable,
   * 5xx, timeout), the payment stays `processing` without a PSP id and the order
   * stays open: repeating this request resumes that same payment with the same key.
   *
   * With `key` (the request's Idempotency-Key) the payment keeps it, in the same statement
   * that starts it (docs/decisions/0031-shop-idempotency-on-row.md); a failed handoff gives it
   * up, so that a retry with the key runs again. A repeat of the key starts nothing.
   */
  async create(orderId: string, dto: CreatePaymentDto, key: RequestKey | null = null): Promise<PaymentAnswer> {
    // docs/decisions/1002-stripe-no-long-polling.md
    const refused = this.psp.unsupported(dto.strategy ?? 'webhook', dto.paymentMethod ?? 'pm_card_ok');
    if (refused) throw new DomainError('PAYMENT.UNSUPPORTED_BY_PSP', 422, 'Not supported by this PSP', refused);
    // One statement when the order is payable and no payment is in flight; otherwise (a
    // retry resuming its payment, a conflict, an error to answer) under the order's lock:
    // BEGIN, the lock, one statement that finds or starts the payment, COMMIT.
    const started = isUuid(orderId)
      ? await this.payments.tryStart(
          orderId,
          { strategy: dto.strategy ?? 'webhook', paymentMethod: dto.paymentMethod ?? 'pm_card_ok' },
          this.orders.payableStatuses,
          key,
        )
      : null;
    if (started?.kind === 'created') return { payment: await this.handOffToPsp(started.payment, key), repeatOf: null };
    if (started?.kind === 'keyed') return this.repeatOf(started.keyed, key!);
    const start = await this.db.transaction(async (manager) => {
      const order = await this.orders.lockForPayment(manager, orderId);
      const strategy = dto.strategy ?? 'webhook';
      const started = await this.payments.start(
        manager,
        {
          orderId,
          status: 'processing',
          strategy,
          paymentMethod: dto.paymentMethod ?? 'pm_card_ok',
          amount: order.amount,
          currency: order.currency,
          pspPaymentId: null,
          resolvedVia: null,
          failureReason: null,
          resolvedAt: null,
        },
        { orderId, strategy },
        key,
      );
      if (started.kind !== 'in_flight') return started;
      const inFlight = started.payment;
      if (inFlight.pspPaymentId === null) {
        this.logger.log({
          msg: `Payment ${inFlight.id} for order ${orderId}: resuming the unfinished PSP handoff`,
          paymentId: inFlight.id,
          orderId,
        });
        return started;
      }
      throw new DomainError(
        'PAYMENT.IN_PROGRESS',
        409,
        'A payment is already in progress',
        `Payment ${inFlight.id} for order ${orderId} has not resolved yet.`,
        { paymentId: inFlight.id },
      );
    });
    if (start.kind === 'keyed') return this.repeatOf(start.keyed, key!);
    return { payment: await this.handOffToPsp(start.payment, key), repeatOf: null };
  }

  /**
   * A repeat of an Idempotency-Key: the key's payment as the first request answered it
   * (processing, with its PSP id; the first request's 201 is rebuilt, not stored). A first
   * request that stopped before the PSP answered (its process ended) is taken over: this
   * request resumes its payment, as the interceptor's abandoned claim is taken over.
   */
  private async repeatOf(keyed: KeyedPayment, key: RequestKey): Promise<PaymentAnswer> {
    const { payment, requestHash } = keyed;
    const abandoned =
      requestHash === key.requestHash &&
      payment.status === 'processing' &&
      payment.pspPaymentId === null &&
      !keyed.running;
    if (abandoned && (await this.payments.takeOver(payment.id))) {
      this.logger.warn({
        msg: `Payment ${payment.id}: Idempotency-Key ${key.key} taken over from a request that never finished`,
        paymentId: payment.id,
        orderId: payment.orderId,
      });
      return { payment: await this.handOffToPsp(payment, key), repeatOf: null };
    }
    const first = Object.assign(payment, {
      status: 'processing' as const,
      resolvedVia: null,
      failureReason: null,
      resolvedAt: null,
      pollCount: 0,
      attentionReason: null,
      nextAction: keyed.nextAction ? { type: keyed.nextAction } : null,
    });
    return { payment: first, repeatOf: { requestHash, running: keyed.running || abandoned } };
  }

  private async handOffToPsp(payment: Payment, key: RequestKey | null): Promise<Payment> {
    const startedAt = Date.now();
    const traceId = activeTraceId();
    const traceparent = activeTraceparent();
    try {
      const pspPayment = await this.psp.createPayment(
        {
          amount: payment.amount,
          currency: payment.currency,
          ...(payment.strategy === 'webhook' || payment.strategy === 'thin_webhook'
            ? { callback_url: this.callbackUrl }
            : {}),
          ...(payment.strategy === 'thin_webhook' ? { event_format: 'thin' as const } : {}),
          payment_method: payment.paymentMethod,
          metadata: { orderId: payment.orderId, paymentId: payment.id },
        },
        payment.id,
      );
      const firstPollAt = this.firstPollAt(payment.strategy);
      // One statement: no transaction around it.
      await this.payments.markAccepted(
        this.db.manager,
        payment.id,
        pspPayment.id,
        firstPollAt,
        {
          at: new Date(),
          detail: {
            pspPaymentId: pspPayment.id,
            pspStatus: pspPayment.provider_status ?? pspPayment.status,
            latencyMs: Date.now() - startedAt,
            ...(pspPayment.next_action ? { nextAction: pspPayment.next_action.type } : {}),
            // With tracing on: the trace of the creation and the PSP call, which the payment page links to.
            ...(traceId && { traceId }),
          },
        },
        traceparent,
      );
      // Off the request path: an idle worker would otherwise sleep up to a second past it.
      void this.pollWakeups.announce(firstPollAt);
      payment.pspPaymentId = pspPayment.id;
      // Stripe's 3-D Secure: the payment stays processing until the customer authenticates.
      if (pspPayment.next_action) payment.nextAction = pspPayment.next_action;
      this.logger.log({
        msg: `Payment ${payment.id} for order ${payment.orderId} accepted by PSP as ${pspPayment.id}`,
        paymentId: payment.id,
        orderId: payment.orderId,
        pspPaymentId: pspPayment.id,
      });
      return payment;
    } catch (err) {
      if (err instanceof DomainError && err.code === 'PSP.IN_PROGRESS') {
        if (key) await this.payments.releaseKey(this.db.manager, payment.id, key);
        // Another request is handing this payment to the PSP right now (concurrent retries of
        // an unfinished handoff share the PSP key): that request records the outcome.
        throw new DomainError(
          'PAYMENT.IN_PROGRESS',
          409,
          'A payment is already in progress',
          `Payment ${payment.id} for order ${payment.orderId} is being handed to the PSP by another request.`,
          { paymentId: payment.id },
        );
      }
      const code = err instanceof DomainError ? err.code : 'PSP.UNAVAILABLE';
      const message = (err as Error).message;
      // Only a PSP that answered "no" is a certain outcome; anything else may have
      // created the PSP payment, so the payment stays open for a resuming retry.
      const rejected = code === 'PSP.REJECTED';
      await this.db.transaction(async (manager) => {
        if (rejected) await this.payments.markRejected(manager, payment.id, code, new Date());
        // Nothing to replay: a retry with the key runs again (and resumes the payment left processing).
        if (key) await this.payments.releaseKey(manager, payment.id, key);
        await this.addTimeline(manager, payment.id, 'psp_error', new Date(), {
          code,
          message,
          outcome: rejected ? 'payment failed' : 'unknown: retry the request to resume this payment',
        });
      });
      this.logger.warn({
        msg:
          `Payment ${payment.id} for order ${payment.orderId}: PSP call failed (${code}): ${message}` +
          (rejected ? '; payment failed' : '; left processing for a resuming retry'),
        paymentId: payment.id,
        orderId: payment.orderId,
      });
      if (err instanceof DomainError) {
        throw new DomainError(err.code, err.status, err.title, err.message, { ...err.extra, paymentId: payment.id });
      }
      throw err;
    }
  }

  /** When the PSP is first asked: after the webhook deadline (fallback), or per the polling strategy. */
  private firstPollAt(strategy: PaymentStrategy): Date {
    const delay =
      strategy === 'webhook' || strategy === 'thin_webhook'
        ? this.deadlineMs
        : strategy === 'short_polling'
          ? this.shortPollIntervalMs
          : 0;
    return new Date(Date.now() + delay);
  }

  async get(id: string): Promise<{ payment: Payment; timeline: PaymentTimelineEntry[] }> {
    const payment = isUuid(id) ? await this.payments.findById(id) : null;
    if (!payment) throw notFound('PAYMENT.NOT_FOUND', 'Payment', id);
    const timeline = await this.payments.timelineOf(id);
    return { payment, timeline };
  }

  private async addTimeline(
    manager: EntityManager,
    paymentId: string,
    type: TimelineType,
    at: Date,
    detail: Record<string, unknown>,
  ): Promise<void> {
    await this.payments.writeTimeline(manager, [{ paymentId, type, at, detail }]);
  }
}
