import { isUuid } from '../common/ids.js';
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { AllConfig } from '../config/env.js';
import { DomainError, notFound } from '../common/errors/domain-error.js';
import { OrdersService } from '../orders/orders.service.js';
import type { CreatePaymentDto } from './dto/payment.dto.js';
import { paymentTransitions, type PaymentStatus, type PaymentStrategy, type ResolvedVia } from './payment-status.js';
import { PaymentsMetrics } from './payments-metrics.js';
import { PaymentTimelineEntry, type TimelineType } from './payment-timeline-entry.entity.js';
import { Payment } from './payment.entity.js';
import { PspClient, type PspPaymentStatus } from './psp/psp.client.js';
import { afterCommit } from '../common/db/after-commit.js';
import { preparedQuery } from '../common/db/prepared-query.js';

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
    private readonly metrics: PaymentsMetrics,
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
    const [outcome] = await this.applyPspResults(manager, [result]);
    return outcome;
  }

  /**
   * `applyPspResult` for several results at once, in order, with a fixed number of
   * statements whatever their count (the inbox applies events in batches): one query
   * locks the payments (in id order, so concurrent batches never deadlock), one UPDATE
   * moves them, one INSERT writes their timeline, and the orders move together. Two
   * results for the same payment apply one after the other, as if sent separately.
   */
  async applyPspResults(manager: EntityManager, results: PspResult[]): Promise<ApplyOutcome[]> {
    if (results.length === 0) return [];
    const byShopId = results.map((r) => (r.paymentId && isUuid(r.paymentId) ? r.paymentId : null));
    const locked = await preparedQuery<LockedPayment>(
      manager,
      'hookline_payments_lock',
      `SELECT id, order_id, status, amount, currency, psp_payment_id FROM payments
        WHERE id = ANY($1::uuid[]) OR psp_payment_id = ANY($2::text[])
        ORDER BY id FOR UPDATE`,
      [
        [...new Set(byShopId.filter((id) => id !== null))],
        [...new Set(results.filter((_, i) => byShopId[i] === null).map((r) => r.pspPaymentId))],
      ],
    );
    const byId = new Map(locked.map((p) => [p.id, p]));
    const byPspId = new Map(locked.filter((p) => p.psp_payment_id).map((p) => [p.psp_payment_id!, p]));
    const now = new Date();
    // Each result's timeline entries, kept apart so a payment's entries stay in order.
    const timeline: TimelineRow[][] = results.map(() => []);
    const moved = new Map<string, LockedPayment & { resolved_via: ResolvedVia }>();
    const resolved: { index: number; payment: LockedPayment; to: PaymentStatus }[] = [];
    // What happened, logged once the caller's transaction commits: a batch that rolls
    // back (and is then applied again, job by job) must not have claimed its moves.
    const lines: { level: 'log' | 'warn'; line: string | Record<string, unknown> }[] = [];

    const outcomes = results.map((result, i): ApplyOutcome => {
      const payment = byShopId[i] ? byId.get(byShopId[i]) : byPspId.get(result.pspPaymentId);
      if (!payment) {
        const reason = `no payment matches PSP payment ${result.pspPaymentId}`;
        lines.push({ level: 'warn', line: `PSP result ignored: ${reason}` });
        return { applied: false, reason };
      }
      const ctx = `Payment ${payment.id} (order ${payment.order_id}, PSP ${result.pspPaymentId})`;
      const ids = {
        paymentId: payment.id,
        orderId: payment.order_id,
        pspPaymentId: result.pspPaymentId,
        eventId: result.evidence.eventId,
      };
      const add = (type: TimelineType, at: Date, detail: Record<string, unknown>) =>
        timeline[i].push({ paymentId: payment.id, type, at, detail });
      add(result.via === 'webhook' ? 'webhook_received' : 'poll_result', result.arrivedAt, {
        ...result.evidence,
        pspStatus: result.pspStatus,
      });
      const ignore = (reason: string): ApplyOutcome => {
        add('ignored', now, { reason, ...pick(result.evidence, 'eventId') });
        lines.push({
          level: 'log',
          line: { msg: `${ctx}: ${result.pspStatus} via ${result.via} ignored: ${reason}`, ...ids },
        });
        return { applied: false, reason };
      };
      if (payment.psp_payment_id && payment.psp_payment_id !== result.pspPaymentId) {
        return ignore(`PSP payment id ${result.pspPaymentId} does not match ${payment.psp_payment_id}`);
      }
      if (result.amount !== Number(payment.amount) || result.currency !== payment.currency) {
        return ignore(
          `PSP reports ${result.amount} ${result.currency}, payment is ${payment.amount} ${payment.currency}`,
        );
      }
      const from = payment.status;
      const to = TARGET[result.pspStatus];
      if (to === from) return ignore(`payment is already ${from}`);
      if (!paymentTransitions.can(from, to)) {
        return ignore(`payment is ${from}; ${result.pspStatus} cannot move it to ${to}`);
      }
      // Later results in this batch see the payment as this one leaves it.
      payment.status = to;
      payment.psp_payment_id = result.pspPaymentId;
      moved.set(payment.id, { ...payment, resolved_via: result.via });
      add('resolved', now, { status: to, resolvedVia: result.via, ...pick(result.evidence, 'eventId') });
      lines.push({ level: 'log', line: { msg: `${ctx} ${from} → ${to} via ${result.via}`, ...ids } });
      resolved.push({ index: i, payment, to });
      return { applied: true, status: to };
    });
    await afterCommit(manager, () => {
      for (const { level, line } of lines) this.logger[level](line);
    });

    if (moved.size > 0) {
      const orders = await this.orders.applyPaymentOutcomes(
        manager,
        resolved.map((r) => ({ orderId: r.payment.order_id, outcome: r.to === 'succeeded' ? 'succeeded' : 'failed' })),
      );
      const at = new Date();
      resolved.forEach((r, k) => {
        const order = orders[k];
        timeline[r.index].push({
          paymentId: r.payment.id,
          type: 'order_updated',
          at,
          detail: order.changed
            ? { orderId: r.payment.order_id, from: order.from, to: order.to }
            : { orderId: r.payment.order_id, unchanged: order.from, reason: order.reason },
        });
      });
      // Counted once the caller's transaction commits: never before the change is visible, never for a rollback.
      await afterCommit(manager, () => {
        for (const r of resolved) this.metrics.resolved.inc({ via: results[r.index].via, status: r.to });
      });
    }
    // The payments move and their timeline is written in one statement (one round trip
    // fewer per batch); the payments are locked since the first query, so moving them
    // after their orders changes nothing another transaction could see.
    await this.writeTimeline(manager, timeline.flat(), { moved: [...moved.values()], at: now });
    return outcomes;
  }

  /**
   * Records on the payment an event names (by the shop's payment id in its metadata,
   * else the PSP payment id) that its webhook could not be applied; nothing when it names
   * none. Runs in the transaction that marks the inbox row dead.
   */
  async recordDeadWebhook(
    manager: EntityManager,
    ids: { paymentId?: string; pspPaymentId?: string },
    detail: Record<string, unknown>,
  ): Promise<void> {
    const byShopId = ids.paymentId && isUuid(ids.paymentId) ? ids.paymentId : null;
    if (!byShopId && !ids.pspPaymentId) return;
    const [payment] = await manager.query<{ id: string }[]>(
      byShopId ? `SELECT id FROM payments WHERE id = $1` : `SELECT id FROM payments WHERE psp_payment_id = $1`,
      [byShopId ?? ids.pspPaymentId],
    );
    if (payment) await this.addTimeline(manager, payment.id, 'webhook_dead', new Date(), detail);
  }

  async addTimeline(
    manager: EntityManager,
    paymentId: string,
    type: TimelineType,
    at: Date,
    detail: Record<string, unknown>,
  ): Promise<void> {
    await this.writeTimeline(manager, [{ paymentId, type, at, detail }]);
  }

  /**
   * Appends timeline entries (ids in the order given) and, in the same statement, moves
   * the payments of `resolve` to their new status, resolved at its `at`.
   */
  private async writeTimeline(
    manager: EntityManager,
    entries: TimelineRow[],
    resolve?: { moved: (LockedPayment & { resolved_via: ResolvedVia })[]; at: Date },
  ): Promise<void> {
    const moved = resolve?.moved ?? [];
    if (entries.length === 0 && moved.length === 0) return;
    const timeline = [
      entries.map((e) => e.paymentId),
      entries.map((e) => e.type),
      entries.map((e) => e.at),
      // One JSON array rather than a jsonb[] literal: no quoting of every element by pg.
      JSON.stringify(entries.map((e) => e.detail)),
    ];
    if (!resolve || moved.length === 0) {
      await preparedQuery(manager, 'hookline_timeline_insert', TIMELINE_INSERT, timeline);
      return;
    }
    await preparedQuery(
      manager,
      'hookline_payments_resolve_timeline',
      `WITH resolved AS (
         UPDATE payments p SET status = m.status, resolved_via = m.via, resolved_at = $9, updated_at = $9,
                psp_payment_id = m.psp_payment_id,
                failure_reason = CASE WHEN m.status = 'failed' THEN 'declined' END
           FROM unnest($5::uuid[], $6::text[], $7::text[], $8::text[]) AS m(id, status, via, psp_payment_id)
          WHERE p.id = m.id
       )
       ${TIMELINE_INSERT}`,
      [
        ...timeline,
        moved.map((r) => r.id),
        moved.map((r) => r.status),
        moved.map((r) => r.resolved_via),
        moved.map((r) => r.psp_payment_id),
        resolve.at,
      ],
    );
  }
}

/** The timeline INSERT of `writeTimeline` ($1–$4: payment ids, types, times, details as one JSON array). */
const TIMELINE_INSERT = `INSERT INTO payment_timeline (payment_id, type, at, detail)
       SELECT t.payment_id, t.type, t.at, d.detail
         FROM unnest($1::uuid[], $2::text[], $3::timestamptz[]) WITH ORDINALITY AS t(payment_id, type, at, n)
         JOIN jsonb_array_elements($4::jsonb) WITH ORDINALITY AS d(detail, n) USING (n)
        ORDER BY n`;

/** A payment as `applyPspResults` locks it (raw row: amount is a bigint string). */
interface LockedPayment {
  id: string;
  order_id: string;
  status: PaymentStatus;
  amount: string;
  currency: string;
  psp_payment_id: string | null;
}

interface TimelineRow {
  paymentId: string;
  type: TimelineType;
  at: Date;
  detail: Record<string, unknown>;
}

function pick(obj: Record<string, unknown>, key: string): Record<string, unknown> {
  return key in obj ? { [key]: obj[key] } : {};
}
