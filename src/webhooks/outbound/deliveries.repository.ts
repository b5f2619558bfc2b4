import type { EntityManager } from 'typeorm';
import type { MirrorSql } from './outbound-hooks.js';
import type {
  OutboundOwner,
  WebhookAttempt,
  WebhookDelivery,
  WebhookEndpoint,
  WebhookMessage,
} from './outbound.entities.js';

/** A delivery as an attempt needs it: with its message, its endpoint, and the body to send. */
export type LoadedDelivery = WebhookDelivery & { message: WebhookMessage; endpoint: WebhookEndpoint; body: string };

/** A successful attempt as the success batch writes it. */
export interface SucceededAttemptRow {
  delivery_id: string;
  endpoint_id: string;
  number: number;
  started_at: string;
  duration_ms: number;
  status_code: number;
  excerpt: string | null;
  /** The message's event id, and the publisher that mirrors this attempt (null: none). */
  event_id: string;
  mirror: OutboundOwner | null;
}

/** A failed attempt as the failure batch inserts it. */
export interface FailedAttemptRow {
  delivery_id: string;
  number: number;
  started_at: string;
  duration_ms: number;
  status_code: number | null;
  excerpt: string | null;
  error: string;
}

/** A delivery's state after a failed attempt: pending with its next wait, or failed. */
export interface FailedDeliveryRow {
  id: string;
  status: 'pending' | 'failed';
  attempts: number;
  started_at: string;
  status_code: number | null;
  error: string;
  delay_ms: number | null;
  /** The message's event id, and the publisher that mirrors this attempt (null: none). */
  event_id: string;
  mirror: OutboundOwner | null;
}

/** A row the outbox's write answers: a message written, or one of its deliveries (`ref`: its message id). */
export interface OutboxRow {
  kind: 'message' | 'delivery';
  id: string;
  ref: string;
  status: string | null;
}

/**
 * A publisher's state change written in the same statement as the message it causes
 * (`WebhookOutbox.publishWithin`): its CTEs, ending in one named `outbox_event`.
 */
export interface OutboxSource {
  /** The prepared statement's name: one per `ctes` text. */
  name: string;
  /**
   * CTEs without the WITH (`a AS (…), outbox_event AS (…)`), parameters $1…$n being
   * `params`. `outbox_event` answers the message as (event_id text, event_type text,
   * payload jsonb, trace_context text: its W3C traceparent, null with tracing off), and no
   * row when the change did not happen. The change must also ask
   * `EXISTS (SELECT 1 FROM outbox_ready)`: no row while the callback endpoint of the
   * request's URL does not exist yet (the outbox then makes it and runs the statement again).
   */
  ctes: string;
  params: unknown[];
  /** A SELECT of the source's own answer, (ref text, value text) rows, from its CTEs. */
  answer?: string;
}

/** What a message written within a publisher's statement goes to (`OutboxSource`). */
export interface OutboxSourceWrite {
  owner: OutboundOwner;
  callbackUrl: string | null;
  /** The callback delivery is recorded failed and never sent. */
  dropCallback: boolean;
  delayMs: number;
  operationalTypes: readonly string[];
}

/** The rows `writeWithin` answers: besides the outbox's rows, `ready` and the source's `event`. */
export interface OutboxSourceRow {
  kind: 'ready' | 'event' | 'message' | 'delivery' | 'callback' | 'answer';
  id: string | null;
  ref: string | null;
  status: string | null;
  /** The callback delivery as an attempt loads it (`loadMany`), from the statement that wrote it. */
  loaded?: LoadedDelivery;
}

/** The messages one outbox write inserts, one entry per message in order. */
export interface OutboxWrite {
  owner: OutboundOwner;
  eventIds: string[];
  eventTypes: string[];
  /** The payloads as one JSON array. */
  payloads: string;
  delaysMs: number[];
  /** Each message's W3C traceparent; null when none has one (tracing off: the column is not bound). */
  traceContexts?: (string | null)[] | null;
  /** Only these endpoints (a test message), else every subscribed one. */
  endpointIds: string[] | null;
  /** Event types only endpoints that name them receive. */
  operationalTypes: readonly string[];
}

/**
 * The port to the deliveries and their attempts (webhook_deliveries, webhook_attempts,
 * and the messages they belong to). A method taking an EntityManager runs inside the
 * caller's transaction.
 */
export abstract class DeliveriesRepository {
  /** Runs `work` in one transaction. */
  abstract transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T>;

  /** The deliveries with their message and endpoint, one per id in order (null when gone), in one query. */
  abstract loadMany(ids: string[]): Promise<(LoadedDelivery | null)[]>;

  /** Whether the delivery is still there (an endpoint's deletion takes its deliveries). */
  abstract exists(id: string): Promise<boolean>;

  /** A pending delivery failed for good without an attempt (its endpoint is disabled). */
  abstract failPending(id: string, error: string): Promise<void>;

  /** The endpoint's pending deliveries failed for good (it was disabled), inside `manager`. */
  abstract failPendingOfEndpoint(manager: EntityManager, endpointId: string, error: string): Promise<void>;

  /** A pending delivery's next attempt put off by `delayMs`, with why. */
  abstract postpone(id: string, delayMs: number, error: string): Promise<void>;

  /**
   * Successful attempts: the attempts, their deliveries succeeded, their endpoints' last
   * success, and each publisher's mirror of its rows (`mirrors`); one statement.
   */
  abstract recordSuccesses(batch: SucceededAttemptRow[], mirrors: readonly MirrorSql[]): Promise<void>;

  /** Failed attempts inserted, inside `manager`. */
  abstract insertFailedAttempts(manager: EntityManager, rows: FailedAttemptRow[]): Promise<void>;

  /** The deliveries' state after failed attempts, and each publisher's mirror of its rows; inside `manager`. */
  abstract updateFailed(
    manager: EntityManager,
    rows: FailedDeliveryRow[],
    mirrors: readonly MirrorSql[],
  ): Promise<void>;

  /** Pending deliveries of `owner` due more than `staleMs` ago, most overdue first. */
  abstract findOverdue(owner: OutboundOwner, staleMs: number, limit: number): Promise<{ id: string }[]>;

  /** Deletes up to `limit` of `owner`'s messages older than `olderThanMs` whose deliveries are final; how many. */
  abstract deleteFinalMessages(owner: OutboundOwner, olderThanMs: number, limit: number): Promise<number>;

  /** The messages and their deliveries to subscribed (or named) endpoints, in one statement, inside `manager`. */
  abstract writeMessages(manager: EntityManager, write: OutboxWrite): Promise<OutboxRow[]>;

  /**
   * The publisher's state change (`source`), its message and the message's deliveries to
   * subscribed endpoints and to the callback URL, in one statement.
   */
  abstract writeWithin(
    manager: EntityManager,
    source: OutboxSource,
    write: OutboxSourceWrite,
  ): Promise<OutboxSourceRow[]>;

  /**
   * The delivery of a message to `owner`'s callback endpoint for `url` (`dropped`: failed,
   * never sent), inside `manager`, found by its URL in the same statement; undefined when
   * that endpoint does not exist yet (nothing written).
   */
  abstract writeCallbackDelivery(
    manager: EntityManager,
    messageId: string | null,
    callback: { owner: OutboundOwner; url: string },
    dropped: boolean,
    delayMs: number,
  ): Promise<{ id: string; status: string } | undefined>;

  /** One page of an endpoint's deliveries with their messages, newest first, after the keyset `cursor` ([created_at, id]). */
  abstract pageOfEndpoint(
    endpointId: string,
    limit: number,
    status: string | undefined,
    cursor: [string, string] | null,
  ): Promise<(WebhookDelivery & { message?: WebhookMessage })[]>;

  /** A delivery with its message. */
  abstract findWithMessage(id: string): Promise<WebhookDelivery | null>;

  /** A delivery's attempts, oldest first. */
  abstract attemptsOf(deliveryId: string): Promise<WebhookAttempt[]>;

  /** The ids of the endpoint's failed deliveries created since `since`. */
  abstract failedSince(endpointId: string, since: Date): Promise<{ id: string }[]>;

  /** A message by its publisher's event id. */
  abstract findMessage(owner: OutboundOwner, eventId: string): Promise<WebhookMessage | null>;

  /** The ids of the message's deliveries to enabled endpoints. */
  abstract toEnabledEndpoints(messageId: string): Promise<{ id: string }[]>;

  /** Pending again, due now, attempts counted from zero. */
  abstract restart(ids: string[]): Promise<void>;
}
