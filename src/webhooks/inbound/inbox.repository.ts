import type { EntityManager } from 'typeorm';
import type { SqlPart } from '../../common/db/sql-part.js';
import type { InboxCoLock } from './webhook-handler.js';

/** An event the receiver stores (one row of the receiver's group commit). */
export interface IncomingEvent {
  source: string;
  eventId: string;
  eventType: string;
  /** The event as JSON text (the verified raw body). */
  json: string;
  /** SHA-256 of the body as received, hex. */
  sha256: string;
  receivedAt: Date;
  verifiedAt: Date;
  /** W3C traceparent of the receiving span; null with tracing off (then not even bound). */
  traceparent?: string | null;
}

/** An inbox row locked to be applied. */
export interface LockedInboxRow {
  id: string;
  source: string;
  event_id: string;
  event_type: string;
  payload: Record<string, unknown>;
  received_at: Date;
  verified_at: Date;
  queued_at: Date | null;
  received_via: 'webhook' | 'reconciliation';
  processed_at: Date | null;
  /** W3C traceparent of the request that delivered it, or null. */
  trace_context?: string | null;
}

/** A row a failed attempt marked: dead, or to be retried after `delay_ms`. */
export interface DeadOrRetry extends Omit<LockedInboxRow, 'processed_at'> {
  attempts: number;
  dead: boolean;
  delay_ms: number;
}

/** What applying did to a row: `status` processed or ignored, `outcome` the handler's note or reason. */
export interface InboxMark {
  id: string;
  status: 'processed' | 'ignored';
  outcome: string;
}

/** The retry schedule of failed rows (INBOX_MAX_ATTEMPTS, INBOX_RETRY_BACKOFF_MS, INBOX_RETRY_BACKOFF_MAX_MS). */
export interface RetryPolicy {
  maxAttempts: number;
  backoffMs: number;
  backoffMaxMs: number;
}

export interface DeadFilter {
  source?: string;
  type?: string;
  /** Dead at or after (ISO 8601). */
  since?: string;
  /** Dead before (ISO 8601). */
  until?: string;
}

export interface DeadRow {
  id: string;
  source: string;
  eventId: string;
  type: string;
  attempts: number;
  lastError: string | null;
  receivedAt: Date;
  deadAt: Date;
  payload: Record<string, unknown>;
}

/** A row put back from dead. */
export interface RevivedRow {
  id: string;
  source: string;
}

/** A dead row an operator discarded (deleted), as it was. */
export interface DiscardedRow {
  id: string;
  source: string;
  eventId: string;
  type: string;
  payload: Record<string, unknown>;
}

/** Key of an event in the inbox: its source and event id. */
export const eventKey = (source: string, eventId: string): string => `${source}\u0000${eventId}`;

/**
 * The inbox's persistence (table webhook_inbox), the port its roles use: the writer
 * stores, the queue claims stale rows, the applier locks and marks, the dead letters
 * list, revive and discard, the retention deletes. Bound to TypeormInboxRepository in
 * InboundWebhooksModule; unit specs pass a fake. A method taking an EntityManager runs
 * in the caller's transaction.
 */
export interface InboxBacklogStats {
  backlog: number;
  oldest_s: number;
}

export abstract class InboxRepository {
  /** Runs `work` in one transaction. */
  abstract transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T>;

  /** Rows neither processed nor dead. */
  abstract countBacklog(): Promise<number>;

  /**
   * The backlog for the metrics, bounded whatever its size: counted up to `cap`, the
   * oldest row's age (s, 0 when none waits), cancelled by PostgreSQL after `timeoutMs`.
   */
  abstract backlogStats(cap: number, timeoutMs: number): Promise<InboxBacklogStats>;

  /** Inserts the events in one statement (stamped queued); returns the new rows' ids by eventKey. */
  abstract insertReceived(items: IncomingEvent[]): Promise<Map<string, string>>;

  /** The body hashes (hex, null when stored without one) of events already stored, by eventKey. */
  abstract storedHashes(items: { source: string; eventId: string }[]): Promise<Map<string, string | null>>;

  /** Stores events pulled from a source's events API, skipping those already there; returns the new ids. */
  abstract insertReconciled(
    source: string,
    events: unknown[],
    at: Date,
    traceparents?: (string | null)[],
  ): Promise<string[]>;

  /**
   * Locks the rows in id order (FOR UPDATE) and reads them; then, in the same statement,
   * each co-lock in turn locks its rows for those still pending (`coLocked`, by name).
   */
  abstract lockRows(
    manager: EntityManager,
    inboxIds: string[],
    coLocks?: readonly InboxCoLock[],
  ): Promise<{ rows: LockedInboxRow[]; coLocked: Map<string, Record<string, unknown>[]> }>;

  /** Marks applied rows processed or ignored, counting the attempt. */
  abstract markApplied(manager: EntityManager, marks: InboxMark[], processedAt: Date): Promise<void>;

  /** `markApplied` as CTEs for another module's statement (HandleContext.markWith). */
  abstract markAppliedPart(marks: InboxMark[], processedAt: Date): SqlPart;

  /** Counts a failed attempt on a row still pending: dead at the cap, else due again after a backoff. */
  abstract markFailed(
    manager: EntityManager,
    id: string,
    message: string,
    policy: RetryPolicy,
  ): Promise<DeadOrRetry | undefined>;

  /** Claims (locks, then stamps queued) at most `limit` rows pending and not queued for `staleAfterMs`. */
  abstract claimStale(staleAfterMs: number, limit: number): Promise<string[]>;

  /** Dead rows matching the filter, newest death first, after the (deadAt, id) cursor; `limit` rows at most. */
  abstract listDead(filter: DeadFilter, after: [string, string] | null, limit: number): Promise<DeadRow[]>;

  /** Puts one dead row back (received, attempts reset, stamped queued); none if it is not dead. */
  abstract reviveOne(id: string): Promise<RevivedRow[]>;

  /** Puts back at most `limit` dead rows matching the filter, oldest death first. */
  abstract reviveDead(filter: DeadFilter, limit: number): Promise<RevivedRow[]>;

  /**
   * Deletes one row if it is dead, in one statement; none if it is not dead (or there is
   * no such row). A replay that took the row first leaves it not dead, so it stays.
   */
  abstract deleteDead(id: string): Promise<DiscardedRow | undefined>;

  /** A row's status, or null when there is none with that id. */
  abstract statusOf(id: string): Promise<string | null>;

  /** Deletes at most `limit` rows processed longer ago than `olderThanMs`; returns how many. */
  abstract purgeProcessed(olderThanMs: number, limit: number): Promise<number>;
}
