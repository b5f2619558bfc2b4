import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
import { preparedQuery } from '../../common/db/prepared-query.js';
import type { RequestKey } from '../../http/idempotency/idempotency-on-row.interceptor.js';
import type { OrderStatus } from '../order-status.js';
import { Order } from '../order.entity.js';
import type { OutboxSource } from '../../webhooks/outbound/webhook-outbox.js';
import {
  OrdersRepository,
  type LockedOrder,
  type NewOrder,
  type OrderMove,
  type OutcomeMove,
} from '../orders.repository.js';

const ORDER_COLUMNS = 'id, status, currency, amount, items, created_at, updated_at, paid_at';

interface OrderRow {
  id: string;
  status: OrderStatus;
  currency: string;
  amount: string;
  items: Order['items'];
  created_at: Date;
  updated_at: Date;
  paid_at: Date | null;
}

interface CreatedOrderRow extends OrderRow {
  created: boolean;
  expired: boolean;
  idempotency_request_hash: string;
}

/**
 * The order's INSERT, or (its key taken in its scope, $5 $6) the order the key made first,
 * with whether that key is older than $8 hours. A concurrent first use committed after the
 * statement's snapshot makes the INSERT do nothing and the SELECT find nothing: no row.
 */
const CREATE_SQL = `
WITH created AS (
  INSERT INTO orders (status, currency, amount, items, idempotency_scope, idempotency_key, idempotency_request_hash)
  VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7)
  ON CONFLICT (idempotency_scope, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
  RETURNING ${ORDER_COLUMNS}, idempotency_request_hash
)
SELECT true AS created, false AS expired, * FROM created
UNION ALL
SELECT false, o.created_at < now() - make_interval(hours => $8::int),
       ${ORDER_COLUMNS.split(', ')
         .map((c) => `o.${c}`)
         .join(', ')}, o.idempotency_request_hash
  FROM orders o
 WHERE $6::text IS NOT NULL AND o.idempotency_scope = $5 AND o.idempotency_key = $6
   AND NOT EXISTS (SELECT 1 FROM created)`;

/** An order from its raw row (amount is a bigint string), as TypeORM would read it. */
function orderOf(row: OrderRow): Order {
  return Object.assign(new Order(), {
    id: row.id,
    status: row.status,
    currency: row.currency,
    amount: Number(row.amount),
    items: row.items,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    paidAt: row.paid_at,
  });
}

@Injectable()
export class TypeormOrdersRepository extends OrdersRepository {
  constructor(@InjectRepository(Order) private readonly orders: Repository<Order>) {
    super();
  }

  /**
   * One INSERT, outside a transaction (TypeORM's save wraps its INSERT in BEGIN … COMMIT: three
   * round trips), which also keeps the Idempotency-Key: the order, or the one the key made
   * first (docs/decisions/0031-shop-idempotency-on-row.md).
   */
  async create(order: NewOrder, key: RequestKey | null): Promise<{ order: Order; repeatOf: string | null }> {
    const values = [
      order.status,
      order.currency,
      order.amount,
      JSON.stringify(order.items),
      key?.scope ?? null,
      key?.key ?? null,
      key?.requestHash ?? null,
      key?.ttlHours ?? 0,
    ];
    for (let attempt = 0; attempt < 3; attempt++) {
      const [row] = await preparedQuery<CreatedOrderRow>(
        this.orders.manager,
        'hookline_orders_create',
        CREATE_SQL,
        values,
      );
      if (!row) continue; // made by a concurrent request this statement's snapshot predates: read again
      if (row.expired) {
        // The key's first use is past IDEMPOTENCY_TTL_H: the key is free again.
        await this.orders.query(
          `UPDATE orders SET idempotency_scope = NULL, idempotency_key = NULL, idempotency_request_hash = NULL
            WHERE id = $1`,
          [row.id],
        );
        continue;
      }
      if (row.created) return { order: orderOf(row), repeatOf: null };
      // The first answer as it was: pending payment, never updated.
      const first = orderOf({ ...row, status: 'pending_payment', updated_at: row.created_at, paid_at: null });
      return { order: first, repeatOf: row.idempotency_request_hash };
    }
    throw new Error(`Idempotency-Key ${key?.key}: no order made nor found after 3 tries`);
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

  async lockById(manager: EntityManager, id: string): Promise<Order | null> {
    const [row] = await preparedQuery<OrderRow>(
      manager,
      'hookline_orders_lock_one',
      `SELECT ${ORDER_COLUMNS} FROM orders WHERE id = $1 FOR UPDATE`,
      [id],
    );
    return row ? orderOf(row) : null;
  }

  lockForOutcomes(manager: EntityManager, ids: string[]): Promise<LockedOrder[]> {
    return preparedQuery<LockedOrder>(
      manager,
      'hookline_orders_lock',
      `SELECT id, status, amount, currency FROM orders WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`,
      [ids],
    );
  }

  outcomesSource(moves: OutcomeMove[], at: Date, allowed: string[]): OutboxSource {
    return {
      name: 'hookline_orders_outcomes',
      // The lock is taken before the move reads the status (its rows, as FOR UPDATE leaves
      // them, drive the UPDATE), as lockForOutcomes then move did in two statements.
      ctes: `input AS (
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $8::text[])
                         AS i(id, to_status, event_id, event_type, trace_context)
       ), locked AS MATERIALIZED (
         SELECT id, status FROM orders WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE
       ), moved AS (
         UPDATE orders o SET status = i.to_status, updated_at = $5,
                paid_at = CASE WHEN i.to_status = 'paid' THEN $5 ELSE o.paid_at END
           FROM locked l JOIN input i ON i.id = l.id
          WHERE o.id = l.id AND (l.status || '>' || i.to_status) = ANY($7::text[])
         RETURNING o.id, o.status, o.amount, o.currency
       ), outbox_event AS (
         SELECT i.event_id, i.event_type,
                jsonb_build_object('event_id', i.event_id, 'type', i.event_type, 'created_at', $6::text,
                  'data', jsonb_build_object('order_id', m.id, 'status', m.status, 'amount', m.amount,
                                             'currency', m.currency,
                                             'paid_at', CASE WHEN m.status = 'paid' THEN $6::text END)) AS payload,
                i.trace_context
           FROM moved m JOIN input i ON i.id = m.id
       ), order_outcome AS (
         SELECT l.id, l.status AS from_status, i.to_status, m.id IS NOT NULL AS changed
           FROM locked l JOIN input i ON i.id = l.id LEFT JOIN moved m ON m.id = l.id
       )`,
      params: [
        moves.map((m) => m.id),
        moves.map((m) => m.to),
        moves.map((m) => m.eventId),
        moves.map((m) => m.eventType),
        at,
        at.toISOString(),
        allowed,
        moves.map((m) => m.traceContext),
      ],
      answer: `SELECT id::text, status FROM locked`,
    };
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
