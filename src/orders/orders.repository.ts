import type { EntityManager } from 'typeorm';
import type { RequestKey } from '../http/idempotency/idempotency-on-row.interceptor.js';
import type { OutboxSource } from '../webhooks/outbound/webhook-outbox.js';
import type { OrderStatus } from './order-status.js';
import type { Order, OrderItem } from './order.entity.js';

/** An order as `lockForOutcomes` locks it (raw row: amount is a bigint string). */
export interface LockedOrder {
  id: string;
  status: OrderStatus;
  amount: string;
  currency: string;
}

/** An order's new status; `paid` sets its paid_at. */
export interface OrderMove {
  id: string;
  status: OrderStatus;
  paid: boolean;
}

/** An order's move for a payment outcome, with the id and type of the message it publishes. */
export interface OutcomeMove {
  id: string;
  to: OrderStatus;
  eventId: string;
  eventType: string;
  /** The transition's W3C traceparent (tracing on): its `order.*` message carries it on. */
  traceContext: string | null;
}

export interface NewOrder {
  status: OrderStatus;
  currency: string;
  amount: number;
  items: OrderItem[];
}

/** The orders table: the persistence port of OrdersService (TypeormOrdersRepository implements it). */
export abstract class OrdersRepository {
  /**
   * Inserts the order in one statement. With `key` (the request's Idempotency-Key) the
   * order keeps it, and when an order of the key's scope has it already nothing is
   * inserted: that order answers, as it was created, with its request's hash (`repeatOf`).
   * An order whose key is older than `key.ttlHours` gives the key up first.
   */
  abstract create(order: NewOrder, key: RequestKey | null): Promise<{ order: Order; repeatOf: string | null }>;

  abstract findById(id: string): Promise<Order | null>;

  /**
   * Newest first (created_at, id), optionally of one status and before a keyset
   * position; `take` rows at most.
   */
  abstract list(q: { status?: OrderStatus; before?: [at: string, id: string]; take: number }): Promise<Order[]>;

  /** The order, locked FOR UPDATE in `manager`'s transaction. */
  abstract lockById(manager: EntityManager, id: string): Promise<Order | null>;

  /** Locks the orders in id order (so batches touching the same orders never deadlock). */
  abstract lockForOutcomes(manager: EntityManager, ids: string[]): Promise<LockedOrder[]>;

  /**
   * Locks the orders (in id order), moves each whose status allows it (`allowed`:
   * `from>to` pairs) and writes its `order.*` message body, as the CTEs of one statement
   * the outbox completes and runs (WebhookOutbox.publishWithin); its answer: every
   * order's status before, (id, status) rows. Its CTE `order_outcome` (id, from_status,
   * to_status, changed) tells what became of each order, for CTEs appended to the statement.
   */
  abstract outcomesSource(moves: OutcomeMove[], at: Date, allowed: string[]): OutboxSource;

  /** Moves the orders to their new status in one statement, updated (and paid) at `at`. */
  abstract move(manager: EntityManager, moves: OrderMove[], at: Date): Promise<void>;
}
