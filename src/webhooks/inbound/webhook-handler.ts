import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { SqlPart } from '../../common/db/sql-part.js';

/** A verified, stored inbound event as a handler sees it. */
export interface InboundEvent {
  inboxId: string;
  source: string;
  eventId: string;
  type: string;
  payload: Record<string, unknown>;
  receivedAt: Date;
  verifiedAt: Date;
  queuedAt: Date | null;
  /** Pushed by the sender, or pulled by reconciliation from its events API. */
  receivedVia: 'webhook' | 'reconciliation';
  /**
   * W3C traceparent of the span applying this event (a child of the request that
   * delivered it), for what the handler writes to carry on the trace (an order's
   * outbound message); absent with tracing off.
   */
  traceparent?: string | null;
}

export type HandlerResult = { outcome: 'applied'; note?: string } | { outcome: 'ignored'; reason: string };

/**
 * Rows of a source's own tables locked in the statement that locks the inbox rows, after
 * them (docs/decisions/0033-worker-apply-in-two-statements.md). `sql` is a SELECT that
 * reads the CTE `inbox_pending` (the locked rows not yet processed: id, source,
 * event_type, payload), locks its rows in one fixed order (`ORDER BY id FOR UPDATE`) and
 * answers each as one jsonb column `row`; its handlers find them in `HandleContext.coLocked`.
 */
export interface InboxCoLock {
  /** Short; one per `sql` text. */
  name: string;
  sql: string;
}

/** What the applier gives a handler besides the events. */
export interface HandleContext {
  /** The rows each registered co-lock locked, by its name. */
  coLocked?: ReadonlyMap<string, Record<string, unknown>[]>;
  /**
   * The inbox mark of the whole batch as CTEs, for the handler's LAST statement: called with
   * the results `handle` will return (once they are known and before that statement runs),
   * it answers a part the handler must write in that statement. A handler that never calls
   * it leaves the mark to a statement of the applier's.
   */
  markWith?: (results: HandlerResult[]) => SqlPart;
}

/**
 * Applies one source's events. `handle` runs inside the transaction that marks the
 * inbox rows processed, so it must do all its writes through `manager`. It gets the
 * events of one batch, in the order they were received, and returns one result per
 * event, in order; a handler that throws rolls the whole batch back (the inbox then
 * retries its events one by one, so one bad event fails alone).
 */
export interface WebhookEventHandler {
  handle(manager: EntityManager, events: InboundEvent[], context?: HandleContext): Promise<HandlerResult[]>;
  /**
   * Called in the transaction that marks an event dead (it failed INBOX_MAX_ATTEMPTS
   * times), so the source can record it where its users look (a payment's timeline).
   */
  onDead?(manager: EntityManager, event: InboundEvent, lastError: string): Promise<void>;
}

/** Modules register their handlers here (the payments module registers 'psp'). */
@Injectable()
export class WebhookHandlerRegistry {
  private readonly handlers = new Map<string, WebhookEventHandler>();
  private readonly locks = new Map<string, InboxCoLock>();

  register(source: string, handler: WebhookEventHandler): void {
    if (this.handlers.has(source)) throw new Error(`A webhook handler for source "${source}" is already registered`);
    this.handlers.set(source, handler);
  }

  get(source: string): WebhookEventHandler {
    const handler = this.handlers.get(source);
    if (!handler) throw new Error(`No webhook handler registered for source "${source}"`);
    return handler;
  }

  has(source: string): boolean {
    return this.handlers.has(source);
  }

  /**
   * Adds a co-lock (several handlers may register the same one: kept once, by name). The
   * co-locks run in the order registered, each after the inbox rows: every applying
   * transaction takes its locks in the same order of tables, and of ids within each.
   */
  registerCoLock(lock: InboxCoLock): void {
    const known = this.locks.get(lock.name);
    if (known && known.sql !== lock.sql) throw new Error(`Another inbox co-lock is named "${lock.name}"`);
    this.locks.set(lock.name, lock);
  }

  get coLocks(): InboxCoLock[] {
    return [...this.locks.values()];
  }
}
