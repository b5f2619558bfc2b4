import { isUuid, prefixedId } from '../common/ids.js';
import { decodeCursor, encodeCursor } from '../common/pagination/keyset-cursor.js';
import { Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { DomainError, notFound } from '../common/errors/domain-error.js';
import type { CreateOrderDto } from './dto/create-order.dto.js';
import type { RequestKey } from '../http/idempotency/idempotency-on-row.interceptor.js';
import { computeOrderAmount } from './order-amount.js';
import { ORDER_STATUSES, PAYABLE_ORDER_STATUSES, orderTransitions, type OrderStatus } from './order-status.js';
import type { Order } from './order.entity.js';
import { OrdersRepository, type OrderMove } from './orders.repository.js';
import { WebhookOutbox, type PublishRequest } from '../webhooks/outbound/webhook-outbox.js';
import { afterCommit } from '../common/db/after-commit.js';
import { appendParts, confirmParts, type SqlPart } from '../common/db/sql-part.js';
import { endWithError, startChildSpan, traceparentOf, type Span } from '../telemetry/trace-context.js';

/** Every move the order table allows, as `from>to` (what the outcomes' statement may do). */
const ALLOWED_MOVES = ORDER_STATUSES.flatMap((from) =>
  ORDER_STATUSES.filter((to) => orderTransitions.can(from, to)).map((to) => `${from}>${to}`),
);

export type OrderTransitionResult =
  { changed: true; from: OrderStatus; to: OrderStatus } | { changed: false; from: OrderStatus; reason: string };

@Injectable()
export class OrdersService {
  private readonly logger = new Logger('Orders');
  /** The statuses in which an order takes a new payment. */
  readonly payableStatuses: readonly OrderStatus[] = PAYABLE_ORDER_STATUSES;

  constructor(
    private readonly orders: OrdersRepository,
    private readonly outbox: WebhookOutbox,
  ) {}

  /**
   * Creates an order. With `key` (the request's Idempotency-Key) the order keeps it; a
   * repeat of the key creates nothing and answers the key's first order as it was created,
   * with the hash of its request (`repeatOf`), which the caller compares.
   */
  async create(dto: CreateOrderDto, key: RequestKey | null = null): Promise<{ order: Order; repeatOf: string | null }> {
    const amount = computeOrderAmount(dto.items);
    const { order, repeatOf } = await this.orders.create(
      {
        status: 'pending_payment',
        currency: dto.currency,
        amount,
        items: dto.items.map(({ sku, name, quantity, unitAmount }) => ({ sku, name, quantity, unitAmount })),
      },
      key,
    );
    if (repeatOf !== null) return { order, repeatOf };
    this.logger.log({
      msg: `Order ${order.id} created: ${amount} ${order.currency}, ${order.items.length} item(s)`,
      orderId: order.id,
    });
    return { order, repeatOf: null };
  }

  async get(id: string): Promise<Order> {
    const order = isUuid(id) ? await this.orders.findById(id) : null;
    if (!order) throw notFound('ORDER.NOT_FOUND', 'Order', id);
    return order;
  }

  async list(q: {
    status?: OrderStatus;
    limit?: number;
    cursor?: string;
  }): Promise<{ data: Order[]; nextCursor: string | null }> {
    const limit = q.limit ?? 20;
    const before = q.cursor ? decodeCursor(q.cursor, 'ORDER.INVALID_CURSOR') : undefined;
    const rows = await this.orders.list({ status: q.status, before, take: limit + 1 });
    const data = rows.slice(0, limit);
    const last = data[data.length - 1];
    return { data, nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
  }

  /**
   * Locks the order for a new payment attempt inside `manager`'s transaction and
   * checks that it can still be paid. Concurrent attempts for one order serialise here.
   */
  async lockForPayment(manager: EntityManager, id: string): Promise<Order> {
    const order = isUuid(id) ? await this.orders.lockById(manager, id) : null;
    if (!order) throw notFound('ORDER.NOT_FOUND', 'Order', id);
    if (order.status === 'paid') {
      throw new DomainError(
        'ORDER.ALREADY_PAID',
        409,
        'Order already paid',
        `Order ${id} is paid; it takes no further payment.`,
      );
    }
    if (!PAYABLE_ORDER_STATUSES.includes(order.status)) {
      throw new DomainError('ORDER.NOT_PAYABLE', 409, 'Order cannot be paid', `Order ${id} is ${order.status}.`);
    }
    return order;
  }

  /**
   * Moves orders after their payments resolved, through the transition table; never
   * backwards. Several outcomes at once take one lock query, one UPDATE and one outbox
   * write: the inbox applies events in batches. Outcomes for the same order apply in
   * the order given. Returns one result per outcome, in order.
   */
  async applyPaymentOutcomes(
    manager: EntityManager,
    /** `traceparent`: the span of what caused the outcome (tracing on); the transition is its child span. */
    outcomes: { orderId: string; outcome: 'succeeded' | 'failed'; traceparent?: string | null }[],
    /**
     * Other modules' CTEs written in the same statement (they may read `order_outcome`:
     * OrdersRepository.outcomesSource); only where `inOneStatement` holds.
     */
    also: readonly SqlPart[] = [],
  ): Promise<OrderTransitionResult[]> {
    if (outcomes.length === 0) return [];
    // An order moving twice in one batch (rare) moves in turn; otherwise one statement locks,
    // moves and publishes (docs/decisions/0027-order-outcomes-one-statement.md).
    if (!this.inOneStatement(outcomes)) {
      if (also.length > 0) throw new Error('An order with several outcomes takes no other CTEs');
      return this.applyInTurn(manager, outcomes);
    }
    const now = new Date();
    const moves = outcomes.map(({ orderId, outcome, traceparent }) => {
      const to: OrderStatus = outcome === 'succeeded' ? 'paid' : 'payment_failed';
      const eventId = prefixedId('evt');
      const eventType = to === 'paid' ? 'order.paid' : 'order.payment_failed';
      const span = transitionSpan(traceparent, orderId, to, eventType, eventId);
      return { id: orderId, to, eventId, eventType, traceContext: traceparentOf(span), span };
    });
    let answer: { ref: string; value: string | null }[];
    try {
      const source = this.orders.outcomesSource(moves, now, ALLOWED_MOVES);
      ({ answer } = await this.outbox.publishWithin(
        manager,
        { ...source, ...appendParts(source, also) },
        {
          owner: 'shop',
        },
      ));
      confirmParts(also);
    } catch (err) {
      for (const m of moves) endWithError(m.span, err);
      throw err;
    }
    const before = new Map(answer.map((a) => [a.ref, a.value as OrderStatus]));
    const lines: Record<string, unknown>[] = [];
    const results = moves.map((m): OrderTransitionResult => {
      const from = before.get(m.id);
      m.span?.setAttribute('hookline.order.from', from ?? 'unknown');
      const changed = from !== undefined && orderTransitions.can(from, m.to);
      m.span?.setAttribute('hookline.order.changed', changed);
      m.span?.end();
      if (!from) throw notFound('ORDER.NOT_FOUND', 'Order', m.id);
      if (!changed) {
        return { changed: false, from, reason: `order is ${from}; it cannot become ${m.to}` };
      }
      lines.push({
        msg: `Order ${m.id} ${from} → ${m.to}; ${m.eventType} ${m.eventId} published`,
        orderId: m.id,
        eventId: m.eventId,
      });
      return { changed: true, from, to: m.to };
    });
    // Logged once the caller's transaction commits, never for a rollback.
    if (lines.length > 0) {
      await afterCommit(manager, () => {
        for (const line of lines) this.logger.log(line);
      });
    }
    return results;
  }

  /** Whether `applyPaymentOutcomes` moves these orders in one statement (no order has two outcomes). */
  inOneStatement(outcomes: { orderId: string }[]): boolean {
    return new Set(outcomes.map((o) => o.orderId)).size === outcomes.length;
  }

  /** `applyPaymentOutcomes` when an order has several outcomes in the batch: each applies as the order's previous one left it. */
  private async applyInTurn(
    manager: EntityManager,
    outcomes: { orderId: string; outcome: 'succeeded' | 'failed'; traceparent?: string | null }[],
  ): Promise<OrderTransitionResult[]> {
    const ids = [...new Set(outcomes.map((o) => o.orderId))];
    // Locked in id order, so that batches touching the same orders never deadlock.
    const locked = await this.orders.lockForOutcomes(manager, ids);
    const orders = new Map(locked.map((o) => [o.id, o]));
    const now = new Date();
    // The last state of each changed order (one order may move twice in one batch).
    const changed = new Map<string, OrderMove>();
    const messages: PublishRequest[] = [];
    const lines: Record<string, unknown>[] = [];
    const results = outcomes.map(({ orderId: id, outcome, traceparent }): OrderTransitionResult => {
      const order = orders.get(id);
      if (!order) throw notFound('ORDER.NOT_FOUND', 'Order', id);
      const from = order.status;
      const to: OrderStatus = outcome === 'succeeded' ? 'paid' : 'payment_failed';
      if (!orderTransitions.can(from, to)) {
        return { changed: false, from, reason: `order is ${from}; it cannot become ${to}` };
      }
      order.status = to;
      changed.set(id, { id, status: to, paid: to === 'paid' || (changed.get(id)?.paid ?? false) });
      // The merchant's endpoints hear of it through the outbox: same transaction, sent after commit.
      const eventId = prefixedId('evt');
      const type = to === 'paid' ? 'order.paid' : 'order.payment_failed';
      const span = transitionSpan(traceparent, id, to, type, eventId);
      span?.setAttribute('hookline.order.from', from);
      span?.end();
      messages.push({
        owner: 'shop',
        eventId,
        eventType: type,
        traceparent: traceparentOf(span),
        payload: {
          event_id: eventId,
          type,
          created_at: now.toISOString(),
          data: {
            order_id: id,
            status: to,
            amount: Number(order.amount),
            currency: order.currency,
            paid_at: to === 'paid' ? now.toISOString() : null,
          },
        },
      });
      lines.push({ msg: `Order ${id} ${from} → ${to}; ${type} ${eventId} published`, orderId: id, eventId });
      return { changed: true, from, to };
    });
    if (changed.size > 0) {
      await this.orders.move(manager, [...changed.values()], now);
      await this.outbox.publishMany(manager, messages);
      // Logged once the caller's transaction commits, never for a rollback.
      await afterCommit(manager, () => {
        for (const line of lines) this.logger.log(line);
      });
    }
    return results;
  }
}

/**
 * With tracing on, an order's transition is a span of the payment result's trace (the child
 * of `traceparent`), and its `order.*` message carries it on to the merchant's endpoints.
 */
function transitionSpan(
  traceparent: string | null | undefined,
  orderId: string,
  to: OrderStatus,
  eventType: string,
  eventId: string,
): Span | null {
  return startChildSpan('order.transition', traceparent, {
    'hookline.order_id': orderId,
    'hookline.order.to': to,
    'hookline.webhook.event_type': eventType,
    'hookline.webhook.event_id': eventId,
  });
}
