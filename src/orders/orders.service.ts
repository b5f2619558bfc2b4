import { isUuid, prefixedId } from '../common/ids.js';
import { decodeCursor, encodeCursor } from '../common/pagination/keyset-cursor.js';
import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
import { DomainError, notFound } from '../common/errors/domain-error.js';
import type { CreateOrderDto } from './dto/create-order.dto.js';
import { computeOrderAmount } from './order-amount.js';
import { PAYABLE_ORDER_STATUSES, orderTransitions, type OrderStatus } from './order-status.js';
import { Order } from './order.entity.js';
import { WebhookOutbox, type PublishRequest } from '../webhooks/outbound/webhook-outbox.js';
import { afterCommit } from '../common/db/after-commit.js';
import { preparedQuery } from '../common/db/prepared-query.js';

export type OrderTransitionResult =
  { changed: true; from: OrderStatus; to: OrderStatus } | { changed: false; from: OrderStatus; reason: string };

@Injectable()
export class OrdersService {
  private readonly logger = new Logger('Orders');

  constructor(
    @InjectRepository(Order) private readonly orders: Repository<Order>,
    private readonly outbox: WebhookOutbox,
  ) {}

  async create(dto: CreateOrderDto): Promise<Order> {
    const amount = computeOrderAmount(dto.items);
    const order = await this.orders.save(
      this.orders.create({
        status: 'pending_payment',
        currency: dto.currency,
        amount,
        items: dto.items.map(({ sku, name, quantity, unitAmount }) => ({ sku, name, quantity, unitAmount })),
        paidAt: null,
      }),
    );
    this.logger.log({
      msg: `Order ${order.id} created: ${amount} ${order.currency}, ${order.items.length} item(s)`,
      orderId: order.id,
    });
    return order;
  }

  async get(id: string, manager?: EntityManager): Promise<Order> {
    const order = isUuid(id) ? await (manager ?? this.orders.manager).findOneBy(Order, { id }) : null;
    if (!order) throw notFound('ORDER.NOT_FOUND', 'Order', id);
    return order;
  }

  async list(q: {
    status?: OrderStatus;
    limit?: number;
    cursor?: string;
  }): Promise<{ data: Order[]; nextCursor: string | null }> {
    const limit = q.limit ?? 20;
    const qb = this.orders
      .createQueryBuilder('o')
      .orderBy('o.createdAt', 'DESC')
      .addOrderBy('o.id', 'DESC')
      .take(limit + 1);
    if (q.status) qb.andWhere('o.status = :status', { status: q.status });
    if (q.cursor) {
      const [at, id] = decodeCursor(q.cursor, 'ORDER.INVALID_CURSOR');
      qb.andWhere('(o.createdAt, o.id) < (:at, :id)', { at, id });
    }
    const rows = await qb.getMany();
    const data = rows.slice(0, limit);
    const last = data[data.length - 1];
    return { data, nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
  }

  /**
   * Locks the order for a new payment attempt inside `manager`'s transaction and
   * checks that it can still be paid. Concurrent attempts for one order serialise here.
   */
  async lockForPayment(manager: EntityManager, id: string): Promise<Order> {
    const order = isUuid(id)
      ? await manager
          .getRepository(Order)
          .createQueryBuilder('o')
          .setLock('pessimistic_write')
          .where('o.id = :id', { id })
          .getOne()
      : null;
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
    outcomes: { orderId: string; outcome: 'succeeded' | 'failed' }[],
  ): Promise<OrderTransitionResult[]> {
    if (outcomes.length === 0) return [];
    const ids = [...new Set(outcomes.map((o) => o.orderId))];
    // Locked in id order, so that batches touching the same orders never deadlock.
    const locked = await preparedQuery<{ id: string; status: OrderStatus; amount: string; currency: string }>(
      manager,
      'hookline_orders_lock',
      `SELECT id, status, amount, currency FROM orders WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`,
      [ids],
    );
    const orders = new Map(locked.map((o) => [o.id, o]));
    const now = new Date();
    // The last state of each changed order (one order may move twice in one batch).
    const changed = new Map<string, { id: string; status: OrderStatus; paid: boolean }>();
    const messages: PublishRequest[] = [];
    const lines: Record<string, unknown>[] = [];
    const results = outcomes.map(({ orderId: id, outcome }): OrderTransitionResult => {
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
      messages.push({
        owner: 'shop',
        eventId,
        eventType: type,
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
      const rows = [...changed.values()];
      await preparedQuery(
        manager,
        'hookline_orders_move',
        `UPDATE orders o SET status = c.status, updated_at = $3,
                paid_at = CASE WHEN c.paid THEN $3 ELSE o.paid_at END
           FROM unnest($1::uuid[], $2::text[], $4::bool[]) AS c(id, status, paid)
          WHERE o.id = c.id`,
        [rows.map((c) => c.id), rows.map((c) => c.status), now, rows.map((c) => c.paid)],
      );
      await this.outbox.publishMany(manager, messages);
      // Logged once the caller's transaction commits, never for a rollback.
      await afterCommit(manager, () => {
        for (const line of lines) this.logger.log(line);
      });
    }
    return results;
  }
}
