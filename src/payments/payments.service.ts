import { isUuid } from '../common/ids.js';
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { AllConfig } from '../config/env.js';
import { DomainError, notFound } from '../common/errors/domain-error.js';
import { HooklineMetrics } from '../metrics/hookline-metrics.js';
import { OrdersService } from '../orders/orders.service.js';
import type { CreatePaymentDto } from './dto/payment.dto.js';
import { paymentTransitions, type PaymentStatus, type PaymentStrategy, type ResolvedVia } from './payment-status.js';
import { PaymentTimelineEntry, type TimelineType } from './payment-timeline-entry.entity.js';
import { Payment } from './payment.entity.js';
import { PspClient, type PspPaymentStatus } from './psp/psp.client.js';
import { afterCommit } from '../common/db/after-commit.js';

/** A payment result reported by the PSP, however it reached the shop. */
export interface PspResult {
  /** The shop's payment id, when the PSP echoes it back in metadata. */
  paymentId?: string;
  pspPaymentId: string;
  pspStatus: PspPaymentStatus;
  amount: number;
  currency: string;
  via: ResolvedVia;
  /** Timeline detail of how the result arrived (event id, receive/verify/queue times…). */
  evidence: Record<string, unknown>;
  /** When the result reached the shop (webhook received, poll answered). */
  arrivedAt: Date;
}

export type ApplyOutcome = { applied: true; status: PaymentStatus } | { applied: false; reason: string };

const TARGET: Record<PspPaymentStatus, PaymentStatus> = {
  processing: 'processing',
  completed: 'succeeded',
  failed: 'failed',
};

@Injectable()
export class PaymentsService {
  private readonly logger = new Logger('Payments');
  private readonly callbackUrl: string;
  private readonly deadlineMs: number;
  private readonly shortPollIntervalMs: number;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly orders: OrdersService,
    private readonly psp: PspClient,
    config: ConfigService<AllConfig, true>,
    private readonly metrics: HooklineMetrics,
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
   */
  async create(orderId: string, dto: CreatePaymentDto): Promise<Payment> {
    const payment = await this.db.transaction(async (manager) => {
      const order = await this.orders.lockForPayment(manager, orderId);
      const inFlight = await manager.findOneBy(Payment, { orderId, status: 'processing' });
      if (inFlight?.pspPaymentId === null) {
        this.logger.log({
          msg: `Payment ${inFlight.id} for order ${orderId}: resuming the unfinished PSP handoff`,
          paymentId: inFlight.id,
          orderId,
        });
        return inFlight;
      }
      if (inFlight) {
        throw new DomainError(
          'PAYMENT.IN_PROGRESS',
          409,
          'A payment is already in progress',
          `Payment ${inFlight.id} for order ${orderId} has not resolved yet.`,
          { paymentId: inFlight.id },
        );
      }
      const created = await manager.save(
        manager.create(Payment, {
          orderId,
          status: 'processing',
          strategy: dto.strategy ?? 'webhook',
          paymentMethod: dto.paymentMethod ?? 'pm_card_ok',
          amount: order.amount,
          currency: order.currency,
          pspPaymentId: null,
          resolvedVia: null,
          failureReason: null,
          resolvedAt: null,
        }),
      );
      await this.addTimeline(manager, created.id, 'created', created.createdAt, {
        orderId,
        strategy: created.strategy,
      });
      return created;
    });
    return this.handOffToPsp(payment);
  }

  private async handOffToPsp(payment: Payment): Promise<Payment> {
    const startedAt = Date.now();
    try {
      const pspPayment = await this.psp.createPayment(
        {
          amount: payment.amount,
          currency: payment.currency,
          ...(payment.strategy === 'webhook' ? { callback_url: this.callbackUrl } : {}),
          payment_method: payment.paymentMethod,
          metadata: { orderId: payment.orderId, paymentId: payment.id },
        },
        payment.id,
      );
      await this.db.transaction(async (manager) => {
        await manager.update(Payment, payment.id, {
          pspPaymentId: pspPayment.id,
          nextPollAt: this.firstPollAt(payment.strategy),
        });
        await this.addTimeline(manager, payment.id, 'psp_accepted', new Date(), {
          pspPaymentId: pspPayment.id,
          pspStatus: pspPayment.status,
          latencyMs: Date.now() - startedAt,
        });
      });
      payment.pspPaymentId = pspPayment.id;
      this.logger.log({
        msg: `Payment ${payment.id} for order ${payment.orderId} accepted by PSP as ${pspPayment.id}`,
        paymentId: payment.id,
        orderId: payment.orderId,
        pspPaymentId: pspPayment.id,
      });
      return payment;
    } catch (err) {
      const code = err instanceof DomainError ? err.code : 'PSP.UNAVAILABLE';
      const message = (err as Error).message;
      // Only a PSP that answered "no" is a certain outcome; anything else may have
      // created the PSP payment, so the payment stays open for a resuming retry.
      const rejected = code === 'PSP.REJECTED';
      await this.db.transaction(async (manager) => {
        if (rejected) {
          await manager.update(
            Payment,
            { id: payment.id, status: 'processing' },
            { status: 'failed', failureReason: code, resolvedAt: new Date() },
          );
        }
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
      strategy === 'webhook' ? this.deadlineMs : strategy === 'short_polling' ? this.shortPollIntervalMs : 0;
    return new Date(Date.now() + delay);
  }

  async get(id: string): Promise<{ payment: Payment; timeline: PaymentTimelineEntry[] }> {
    const payment = isUuid(id) ? await this.db.manager.findOneBy(Payment, { id }) : null;
    if (!payment) throw notFound('PAYMENT.NOT_FOUND', 'Payment', id);
    const timeline = await this.db.manager.find(PaymentTimelineEntry, {
      where: { paymentId: id },
      order: { id: 'ASC' },
    });
    return { payment, timeline };
  }

  /**
   * The one place where a PSP result changes a payment and its order, whether it
   * came by webhook or (later) by polling. Runs in the caller's transaction; a late,
   * repeated or contradictory result never moves a final state, and is recorded as
   * ignored with the reason.
   */
  async applyPspResult(manager: EntityManager, result: PspResult): Promise<ApplyOutcome> {
    const payments = manager.getRepository(Payment);
    const qb = payments.createQueryBuilder('p').setLock('pessimistic_write');
    const payment =
      result.paymentId && isUuid(result.paymentId)
        ? await qb.where('p.id = :id', { id: result.paymentId }).getOne()
        : await qb.where('p.pspPaymentId = :psp', { psp: result.pspPaymentId }).getOne();
    if (!payment) {
      const reason = `no payment matches PSP payment ${result.pspPaymentId}`;
      this.logger.warn(`PSP result ignored: ${reason}`);
      return { applied: false, reason };
    }
    const ctx = `Payment ${payment.id} (order ${payment.orderId}, PSP ${result.pspPaymentId})`;
    const ids = {
      paymentId: payment.id,
      orderId: payment.orderId,
      pspPaymentId: result.pspPaymentId,
      eventId: result.evidence.eventId,
    };
    const kind: TimelineType = result.via === 'webhook' ? 'webhook_received' : 'poll_result';
    await this.addTimeline(manager, payment.id, kind, result.arrivedAt, {
      ...result.evidence,
      pspStatus: result.pspStatus,
    });

    const ignore = async (reason: string): Promise<ApplyOutcome> => {
      await this.addTimeline(manager, payment.id, 'ignored', new Date(), {
        reason,
        ...pick(result.evidence, 'eventId'),
      });
      this.logger.log({ msg: `${ctx}: ${result.pspStatus} via ${result.via} ignored: ${reason}`, ...ids });
      return { applied: false, reason };
    };
    if (payment.pspPaymentId && payment.pspPaymentId !== result.pspPaymentId) {
      return ignore(`PSP payment id ${result.pspPaymentId} does not match ${payment.pspPaymentId}`);
    }
    if (result.amount !== payment.amount || result.currency !== payment.currency) {
      return ignore(
        `PSP reports ${result.amount} ${result.currency}, payment is ${payment.amount} ${payment.currency}`,
      );
    }
    const to = TARGET[result.pspStatus];
    if (to === payment.status) return ignore(`payment is already ${payment.status}`);
    if (!paymentTransitions.can(payment.status, to)) {
      return ignore(`payment is ${payment.status}; ${result.pspStatus} cannot move it to ${to}`);
    }

    const now = new Date();
    await manager.update(Payment, payment.id, {
      status: to,
      resolvedVia: result.via,
      resolvedAt: now,
      pspPaymentId: result.pspPaymentId,
      failureReason: to === 'failed' ? 'declined' : null,
    });
    // Counted once the caller's transaction commits: never before the change is visible, never for a rollback.
    await afterCommit(manager, () => this.metrics.paymentsResolved.inc({ via: result.via, status: to }));
    await this.addTimeline(manager, payment.id, 'resolved', now, {
      status: to,
      resolvedVia: result.via,
      ...pick(result.evidence, 'eventId'),
    });
    this.logger.log({ msg: `${ctx} ${payment.status} → ${to} via ${result.via}`, ...ids });

    const order = await this.orders.applyPaymentOutcome(
      manager,
      payment.orderId,
      to === 'succeeded' ? 'succeeded' : 'failed',
    );
    await this.addTimeline(
      manager,
      payment.id,
      'order_updated',
      new Date(),
      order.changed
        ? { orderId: payment.orderId, from: order.from, to: order.to }
        : { orderId: payment.orderId, unchanged: order.from, reason: order.reason },
    );
    return { applied: true, status: to };
  }

  async addTimeline(
    manager: EntityManager,
    paymentId: string,
    type: TimelineType,
    at: Date,
    detail: Record<string, unknown>,
  ): Promise<void> {
    await manager.save(manager.create(PaymentTimelineEntry, { paymentId, type, at, detail }));
  }
}

function pick(obj: Record<string, unknown>, key: string): Record<string, unknown> {
  return key in obj ? { [key]: obj[key] } : {};
}
