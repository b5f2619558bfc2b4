import { Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { HandlerResult } from '../webhooks/inbound/webhook-handler.js';
import { afterCommit } from '../common/db/after-commit.js';
import type { SqlPart } from '../common/db/sql-part.js';
import { isUuid } from '../common/ids.js';
import { OrdersService } from '../orders/orders.service.js';
import { paymentTransitions, type PaymentStatus, type ResolvedVia } from './payment-status.js';
import type { TimelineType } from './payment-timeline-entry.entity.js';
import { PaymentsMetrics } from './payments-metrics.js';
import { PaymentAttention } from './payment-attention.js';
import {
  PaymentsRepository,
  type LockedPayment,
  type NewTimelineEntry,
  type ResolvedPayment,
} from './payments.repository.js';
import type { PspPaymentStatus } from './psp/psp.client.js';

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
  /** W3C traceparent of the span applying it (tracing on): the order's transition joins that trace. */
  traceparent?: string | null;
}

export type ApplyOutcome = { applied: true; status: PaymentStatus } | { applied: false; reason: string };

/** What a webhook handler answers for an event whose PSP result was applied (or not). */
export const handlerResultOf = (outcome: ApplyOutcome): HandlerResult =>
  outcome.applied
    ? { outcome: 'applied', note: `payment ${outcome.status}` }
    : { outcome: 'ignored', reason: outcome.reason };

const TARGET: Record<PspPaymentStatus, PaymentStatus> = {
  processing: 'processing',
  completed: 'succeeded',
  failed: 'failed',
};

/**
 * The one place where PSP results change payments and their orders, whether they came
 * by webhook, by polling or by reconciliation. Runs in the caller's transaction; a late,
 * repeated or contradictory result never moves a final state, and is recorded as
 * ignored with the reason.
 */
@Injectable()
export class PspResultsService {
  private readonly logger = new Logger('Payments');

  constructor(
    private readonly payments: PaymentsRepository,
    private readonly orders: OrdersService,
    private readonly metrics: PaymentsMetrics,
    private readonly attention: PaymentAttention,
  ) {}

  /** `applyPspResults` for one result. */
  async applyPspResult(manager: EntityManager, result: PspResult): Promise<ApplyOutcome> {
    const [outcome] = await this.applyPspResults(manager, [result]);
    return outcome;
  }

  /**
   * Applies several results at once, in order, with a fixed number of statements
   * whatever their count (the inbox applies events in batches): one query locks the
   * payments (in id order, so concurrent batches never deadlock) unless the caller locked
   * them (`locked`: the inbox's lock statement, PaymentsRepository.inboxCoLock), and one
   * statement moves the orders, publishes their messages, moves the payments and writes
   * their timeline — with the caller's `last` CTEs (the inbox mark), given the outcomes.
   * A batch where an order has two outcomes moves the orders in turn first. Two results
   * for the same payment apply one after the other, as if sent separately.
   */
  async applyPspResults(
    manager: EntityManager,
    results: PspResult[],
    opts: {
      /** The payments these results name (and perhaps more), locked in this transaction. */
      locked?: LockedPayment[];
      /** CTEs for this method's last statement, once the outcomes are known (not called when it has none). */
      last?: (outcomes: ApplyOutcome[]) => SqlPart;
    } = {},
  ): Promise<ApplyOutcome[]> {
    if (results.length === 0) return [];
    const byShopId = results.map((r) => (r.paymentId && isUuid(r.paymentId) ? r.paymentId : null));
    const locked =
      opts.locked?.map((p) => ({ ...p })) ??
      (await this.payments.lockForResults(
        manager,
        [...new Set(byShopId.filter((id) => id !== null))],
        [...new Set(results.filter((_, i) => byShopId[i] === null).map((r) => r.pspPaymentId))],
      ));
    const byId = new Map(locked.map((p) => [p.id, p]));
    const byPspId = new Map(locked.filter((p) => p.psp_payment_id).map((p) => [p.psp_payment_id!, p]));
    const now = new Date();
    // Each result's timeline entries, kept apart so a payment's entries stay in order.
    const timeline: NewTimelineEntry[][] = results.map(() => []);
    const moved = new Map<string, ResolvedPayment>();
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

    const entries = timeline.flat();
    // Nothing to write (no result matched a payment): the caller writes its CTEs itself.
    const last = entries.length > 0 && opts.last ? [opts.last(outcomes)] : [];
    const orderOutcomes = resolved.map((r) => ({
      orderId: r.payment.order_id,
      outcome: r.to === 'succeeded' ? ('succeeded' as const) : ('failed' as const),
      traceparent: results[r.index].traceparent,
    }));
    const at = new Date();
    const resolve = { moved: [...moved.values()], at: now };
    if (moved.size > 0 && this.orders.inOneStatement(orderOutcomes)) {
      // One statement: the orders locked, moved and published, then the payments moved and
      // their timeline written, each order_updated entry's detail from what became of its
      // order (decision 0033); the payments are locked since the first statement.
      const withOrders: NewTimelineEntry[][] = timeline.map((t) => [...t]);
      const outcomeOf: (string | null)[][] = timeline.map((t) => t.map(() => null));
      for (const r of resolved) {
        withOrders[r.index].push({ paymentId: r.payment.id, type: 'order_updated', at, detail: {} });
        outcomeOf[r.index].push(r.payment.order_id);
      }
      const part = this.payments.resolveTimelinePart(withOrders.flat(), outcomeOf.flat(), resolve);
      await this.orders.applyPaymentOutcomes(manager, orderOutcomes, [part, ...last]);
      await this.countResolved(manager, resolved, results);
      return outcomes;
    }
    if (moved.size > 0) {
      const orders = await this.orders.applyPaymentOutcomes(manager, orderOutcomes);
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
      await this.countResolved(manager, resolved, results);
    }
    // The payments move and their timeline is written in one statement (one round trip
    // fewer per batch); the payments are locked since the first query, so moving them
    // after their orders changes nothing another transaction could see.
    await this.payments.writeTimeline(manager, timeline.flat(), resolve, last);
    return outcomes;
  }

  /** Counted once the caller's transaction commits: never before the change is visible, never for a rollback. */
  private countResolved(
    manager: EntityManager,
    resolved: { index: number; to: PaymentStatus }[],
    results: PspResult[],
  ): void | Promise<void> {
    return afterCommit(manager, () => {
      for (const r of resolved) this.metrics.resolved.inc({ via: results[r.index].via, status: r.to });
    });
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
    const paymentId = await this.payments.findId(
      manager,
      byShopId ? { id: byShopId } : { pspPaymentId: ids.pspPaymentId! },
    );
    if (paymentId) {
      await this.payments.writeTimeline(manager, [{ paymentId, type: 'webhook_dead', at: new Date(), detail }]);
      await this.attention.publish(manager, {
        paymentId,
        reason: 'webhook_dead',
        detail: `a PSP webhook about it could not be applied: ${JSON.stringify(detail).slice(0, 500)}`,
      });
    }
  }
}

function pick(obj: Record<string, unknown>, key: string): Record<string, unknown> {
  return key in obj ? { [key]: obj[key] } : {};
}
