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
import { WebhookOutbox } from '../webhooks/outbound/webhook-outbox.js';

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

  /** Moves the order after a payment resolved, through the transition table; never backwards. */
  async applyPaymentOutcome(
    manager: EntityManager,
    id: string,
    outcome: 'succeeded' | 'failed',
  ): Promise<OrderTransitionResult> {
    const order = await manager
      .getRepository(Order)
      .createQueryBuilder('o')
      .setLock('pessimistic_write')
      .where('o.id = :id', { id })
      .getOne();
    if (!order) throw notFound('ORDER.NOT_FOUND', 'Order', id);
    const to: OrderStatus = outcome === 'succeeded' ? 'paid' : 'payment_failed';
    if (!orderTransitions.can(order.status, to)) {
      return { changed: false, from: order.status, reason: `order is ${order.status}; it cannot become ${to}` };
    }
    const now = new Date();
    await manager.update(Order, id, { status: to, updatedAt: now, ...(to === 'paid' ? { paidAt: now } : {}) });
    // The merchant's endpoints hear of it through the outbox: same transaction, sent after commit.
    const eventId = prefixedId('evt');
    const type = to === 'paid' ? 'order.paid' : 'order.payment_failed';
    await this.outbox.publish(manager, {
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
          amount: order.amount,
          currency: order.currency,
          paid_at: to === 'paid' ? now.toISOString() : null,
        },
      },
    });
    this.logger.log({ msg: `Order ${id} ${order.status} → ${to}; ${type} ${eventId} published`, orderId: id, eventId });
    return { changed: true, from: order.status, to };
  }
}
