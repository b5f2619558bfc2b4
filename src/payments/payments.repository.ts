import type { EntityManager } from 'typeorm';
import type { RequestKey } from '../http/idempotency/idempotency-on-row.interceptor.js';
import type { SqlPart } from '../common/db/sql-part.js';
import type { InboxCoLock } from '../webhooks/inbound/webhook-handler.js';
import type { PaymentStatus, ResolvedVia } from './payment-status.js';
import type { PaymentTimelineEntry, TimelineType } from './payment-timeline-entry.entity.js';
import type { Payment } from './payment.entity.js';

/** A payment as `lockForResults` locks it (raw row: amount is a bigint string). */
export interface LockedPayment {
  id: string;
  order_id: string;
  status: PaymentStatus;
  amount: string;
  currency: string;
  psp_payment_id: string | null;
}

/** A locked payment moved to its new status by a PSP result that arrived `resolved_via`. */
export type ResolvedPayment = LockedPayment & { resolved_via: ResolvedVia };

export interface NewTimelineEntry {
  paymentId: string;
  type: TimelineType;
  at: Date;
  detail: Record<string, unknown>;
}

export type NewPayment = Pick<
  Payment,
  | 'orderId'
  | 'status'
  | 'strategy'
  | 'paymentMethod'
  | 'amount'
  | 'currency'
  | 'pspPaymentId'
  | 'resolvedVia'
  | 'failureReason'
  | 'resolvedAt'
>;

/**
 * The payment that a request's Idempotency-Key made first (the key is kept on the
 * payment: docs/decisions/0031-shop-idempotency-on-row.md), as it is now.
 */
export interface KeyedPayment {
  // (A key older than RequestKey.ttlHours is released by the start that finds it, and the start runs again.)
  payment: Payment;
  /** The hash of the request that made it (RequestKey.requestHash). */
  requestHash: string;
  /** No PSP answer yet and touched less than IDEMPOTENCY_LOCK_TIMEOUT_MS ago: its request is still running. */
  running: boolean;
  /** The `nextAction` of its first answer (recorded on its psp_accepted timeline entry). */
  nextAction: string | null;
}

/** What a start did: made the payment, found the order's payment in flight, or found the key's payment. */
export type PaymentStart =
  | { kind: 'created'; payment: Payment }
  | { kind: 'in_flight'; payment: Payment }
  | { kind: 'keyed'; keyed: KeyedPayment };

/** A payment whose poll was claimed: its poll number at the claim. */
export interface ClaimedPoll {
  id: string;
  poll_count: number;
}

/**
 * The payments tables (payments, payment_timeline, reconciliation_cursors): the
 * persistence port of the payments module (TypeormPaymentsRepository implements it).
 * A method that takes an EntityManager runs in that caller's transaction.
 */
export abstract class PaymentsRepository {
  // Starting a payment.

  /**
   * In one statement: the payment that `key` made if there is one (`keyed`), else the
   * order's payment still `processing` if there is one (`in_flight`; it takes `key` when it
   * has no PSP id and no key yet: the request resumes it), else a new payment keeping `key`
   * with its `created` timeline entry (`detail`). The caller holds the order's lock, so no
   * other payment of the order can start meanwhile.
   */
  abstract start(
    manager: EntityManager,
    payment: NewPayment,
    detail: Record<string, unknown>,
    key: RequestKey | null,
  ): Promise<PaymentStart>;

  /**
   * Starts a payment in one statement, without a transaction: locks the order, and inserts
   * the payment with its `created` timeline entry if the order's status is one of
   * `payableStatuses` and no payment of it is `processing` (a unique index decides between
   * concurrent starts). Null when it did not (no such order, not payable, a payment in
   * flight, or a concurrent start): the caller then decides under the order's lock (`start`).
   * With `key`, the payment keeps it; when a payment has it already, nothing is inserted
   * and that payment answers (`keyed`), whatever its order's state.
   */
  abstract tryStart(
    orderId: string,
    payment: Pick<NewPayment, 'strategy' | 'paymentMethod'>,
    payableStatuses: readonly string[],
    key: RequestKey | null,
  ): Promise<Exclude<PaymentStart, { kind: 'in_flight' }> | null>;

  /**
   * Marks the payment's handoff as this request's when the request that started it has not
   * touched it for IDEMPOTENCY_LOCK_TIMEOUT_MS and the PSP never answered; false when another
   * request did so first.
   */
  abstract takeOver(id: string): Promise<boolean>;

  /** The payment gives up `key` (its first request failed, or the key expired): a request with it runs again. */
  abstract releaseKey(manager: EntityManager, id: string, key: Pick<RequestKey, 'scope' | 'key'>): Promise<void>;

  /**
   * The PSP accepted the payment as `pspPaymentId`; it is first polled at `nextPollAt`; its
   * `psp_accepted` timeline entry (at `at`, with `detail`) is written in the same statement.
   */
  abstract markAccepted(
    manager: EntityManager,
    id: string,
    pspPaymentId: string,
    nextPollAt: Date,
    entry: { at: Date; detail: Record<string, unknown> },
    /** W3C traceparent of the creation (tracing on), kept for its polls and reconciled events. */
    traceparent?: string | null,
  ): Promise<void>;

  /** The stored trace contexts of the payments with these PSP ids (those that have one), by PSP id. */
  abstract traceContextsOf(pspPaymentIds: string[]): Promise<Map<string, string>>;

  /** The PSP said no: fails the payment, if it is still processing. */
  abstract markRejected(manager: EntityManager, id: string, failureReason: string, at: Date): Promise<void>;

  // Reading.

  abstract findById(id: string): Promise<Payment | null>;

  /** The payment's timeline, oldest first. */
  abstract timelineOf(paymentId: string): Promise<PaymentTimelineEntry[]>;

  // Applying PSP results.

  /**
   * Locks the payments with these shop ids or PSP payment ids, in id order (so that
   * concurrent batches never deadlock).
   */
  abstract lockForResults(manager: EntityManager, ids: string[], pspPaymentIds: string[]): Promise<LockedPayment[]>;

  /** The id of the payment with this shop id (else this PSP payment id), if one exists. */
  abstract findId(manager: EntityManager, by: { id: string } | { pspPaymentId: string }): Promise<string | null>;

  /**
   * Appends timeline entries (ids in the order given) and, in the same statement, moves
   * the payments of `resolve` to their new status, resolved at its `at`.
   */
  abstract writeTimeline(
    manager: EntityManager,
    entries: NewTimelineEntry[],
    resolve?: { moved: ResolvedPayment[]; at: Date },
    /** Other modules' CTEs written in the same statement (the inbox mark). */
    also?: readonly SqlPart[],
  ): Promise<void>;

  /**
   * `writeTimeline` as CTEs for the orders' outcome statement: an entry whose
   * `outcomeOf[i]` names an order gets its detail from that statement's `order_outcome`
   * (`{orderId, from, to}` when the order moved, else `{orderId, unchanged, reason}`).
   */
  abstract resolveTimelinePart(
    entries: NewTimelineEntry[],
    outcomeOf: (string | null)[],
    resolve: { moved: ResolvedPayment[]; at: Date },
  ): SqlPart;

  /**
   * The payments that the pending PSP and Stripe events of an inbox batch name (by shop
   * id, else PSP payment id), locked in id order in the inbox's lock statement: the rows
   * `lockForResults` would lock for them, and perhaps a few more (an event it ignores).
   */
  abstract inboxCoLock(): InboxCoLock;

  // Polls.

  /**
   * Claims (FOR UPDATE SKIP LOCKED) at most `limit` processing payments whose poll is
   * due, oldest due first, and moves their `next_poll_at` `leaseS` seconds ahead.
   */
  abstract claimDuePolls(limit: number, leaseS: number): Promise<ClaimedPoll[]>;

  /** Milliseconds until the earliest poll is due (≤ 0: due now), by the database's clock; null when none is pending. */
  abstract msUntilNextPoll(): Promise<number | null>;

  /** The next poll of a still-processing payment: its `pollCount`-th was done; the next is due `at`. */
  abstract schedulePoll(id: string, pollCount: number, at: Date): Promise<void>;

  /**
   * Thin events arrived for these PSP payments: their thin_webhook payments still processing
   * get a poll due now (the fetch of the state). Answers those payments.
   */
  abstract fetchNow(manager: EntityManager, pspPaymentIds: string[]): Promise<{ id: string; pspPaymentId: string }[]>;

  /** Polling of a still-processing payment gave up: no next poll, and why a person should look. */
  abstract stopPolling(id: string, pollCount: number, attentionReason: string, manager?: EntityManager): Promise<void>;

  /** The poll that found the final result: no next poll. */
  abstract finishPolling(manager: EntityManager, id: string, pollCount: number): Promise<void>;

  // The reconciliation cursor.

  /** Creates the source's cursor row (at the start) if it does not exist. */
  abstract ensureCursor(source: string): Promise<void>;

  /** Locks the source's cursor row (SKIP LOCKED): undefined while another transaction holds it. */
  abstract lockCursor(manager: EntityManager, source: string): Promise<{ cursor: string | null } | undefined>;

  abstract saveCursor(manager: EntityManager, source: string, cursor: string): Promise<void>;
}
