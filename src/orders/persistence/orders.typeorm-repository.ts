import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
import { preparedQuery } from '../../common/db/prepared-query.js';
import type { OrderStatus } from '../order-status.js';
import { Order } from '../order.entity.js';
import { OrdersRepository, type LockedOrder, type NewOrder, type OrderMove } from '../orders.repository.js';

@Injectable()
export class TypeormOrdersRepository extends OrdersRepository {
  constructor(@InjectRepository(Order) private readonly orders: Repository<Order>) {
    super();
  }

  create(order: NewOrder): Promise<Order> {
    return this.orders.save(this.orders.create({ ...order, paidAt: null }));
  }

  findById(id: string): Promise<Order | null> {
    return this.orders.manager.findOneBy(Order, { id });
  }

  list(q: { status?: OrderStatus; before?: [at: string, id: string]; take: number }): Promise<Order[]> {
    const qb = this.orders
      .createQueryBuilder('o')
      .orderBy('o.createdAt', 'DESC')
      .addOrderBy('o.id', 'DESC')
      .take(q.take);
    if (q.status) qb.andWhere('o.status = :status', { status: q.status });
    if (q.before) {
      const [at, id] = q.before;
      qb.andWhere('(o.createdAt, o.id) < (:at, :id)', { at, id });
    }
    return qb.getMany();
  }

  lockById(manager: EntityManager, id: string): Promise<Order | null> {
    return manager
      .getRepository(Order)
      .createQueryBuilder('o')
      .setLock('pessimistic_write')
      .where('o.id = :id', { id })
      .getOne();
  }

  lockForOutcomes(manager: EntityManager, ids: string[]): Promise<LockedOrder[]> {
    return preparedQuery<LockedOrder>(
      manager,
      'hookline_orders_lock',
      `SELECT id, status, amount, currency FROM orders WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`,
      [ids],
    );
  }

  async move(manager: EntityManager, moves: OrderMove[], at: Date): Promise<void> {
    await preparedQuery(
      manager,
      'hookline_orders_move',
      `UPDATE orders o SET status = c.status, updated_at = $3,
                paid_at = CASE WHEN c.paid THEN $3 ELSE o.paid_at END
           FROM unnest($1::uuid[], $2::text[], $4::bool[]) AS c(id, status, paid)
          WHERE o.id = c.id`,
      [moves.map((c) => c.id), moves.map((c) => c.status), at, moves.map((c) => c.paid)],
    );
  }
}
