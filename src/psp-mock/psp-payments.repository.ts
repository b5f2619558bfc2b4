import type { EntityManager } from 'typeorm';
import type { RequestKey } from '../http/idempotency/idempotency-on-row.interceptor.js';
import type { OutboxSource } from '../webhooks/outbound/webhook-outbox.js';
import type { PspEvent } from './psp-event.entity.js';
import type { PspEventFormat, PspPayment, PspPaymentStatus } from './psp-payment.entity.js';

/** A payment's row as the settlement uses it (raw row: amount is a bigint string). */
export interface PspPaymentRow {
  id: string;
  amount: string;
  currency: string;
  payment_method: string;
  callback_url: string | null;
  metadata: Record<string, string>;
  created_at: Date;
  requests_served: number;
  event_format: PspEventFormat;
  /** The creating request's W3C traceparent (tracing on); absent from jobs queued before it was kept. */
  trace_context?: string | null;
}

/** What `create` answers: the payment it inserted (`created`), or the one the key made first. */
export interface CreatedPspPayment extends PspPaymentRow {
  created: boolean;
  /** The key's payment is older than the key's TTL: the key is free again (`releaseKey`). */
  expired: boolean;
  idempotency_request_hash: string | null;
}

/** A payment as `create` inserts it. */
export type NewPspPayment = Pick<
  PspPayment,
  | 'id'
  | 'amount'
  | 'currency'
  | 'status'
  | 'paymentMethod'
  | 'callbackUrl'
  | 'metadata'
  | 'requestsServed'
  | 'eventFormat'
>;

/** A payment's settlement: its final status, at `at`, and the event it emits. */
export interface Settlement {
  paymentId: string;
  status: Exclude<PspPaymentStatus, 'processing'>;
  at: Date;
  event: Pick<PspEvent, 'id' | 'type' | 'payload' | 'callbackUrl' | 'deliveryStatus'>;
  /** The settlement's W3C traceparent (tracing on): the event's deliveries carry it on. */
  traceContext: string | null;
}

/**
 * The PSP mock's payments (psp_payments, and the event a settlement inserts into
 * psp_events): the persistence port of PspMockService (TypeormPspPaymentsRepository
 * implements it). Every statement runs on its own, outside a transaction.
 *
 * The settlement is one statement the outbox completes and runs
 * (WebhookOutbox.publishWithin, which takes the EntityManager to run it on): the port
 * gives its CTEs (`settlementSource`) and the manager its own statements run on
 * (`manager`, no transaction: a pool connection for the call), so the service hands
 * both to the outbox and holds no DataSource; a unit spec's fake gives any object.
 */
export abstract class PspPaymentsRepository {
  /** The manager this repository's statements run on: outside a transaction. */
  abstract readonly manager: EntityManager;

  /**
   * Inserts the payment; with `key`, the INSERT is also the key's claim. Answers the
   * inserted row (`created`), or with the key already used, the payment it made
   * (`created` false; `expired` when older than the key's TTL); none when the key's
   * payment committed after this statement's snapshot (a concurrent first use): the
   * caller runs it again. `traceContext`: the creating request's traceparent.
   */
  abstract create(
    payment: NewPspPayment,
    key: RequestKey | null,
    traceContext: string | null,
  ): Promise<CreatedPspPayment | undefined>;

  /** Frees the Idempotency-Key the payment was made with (its use expired). */
  abstract releaseKey(id: string): Promise<void>;

  /** Counts one more request served about the payment; answers its status, null when there is none. */
  abstract countServed(id: string): Promise<PspPaymentStatus | null>;

  /** The payment; rejects (TypeORM's EntityNotFoundError) when there is none. */
  abstract getById(id: string): Promise<PspPayment>;

  /** The payment, if it is still processing. */
  abstract findUnsettled(id: string): Promise<PspPaymentRow | undefined>;

  /**
   * The settlement's share of one statement (the outbox appends the message and its
   * deliveries): the payment moves to its status only while still processing, and its
   * event is inserted only if it moved. Run on `manager`.
   */
  abstract settlementSource(settlement: Settlement): OutboxSource;

  /** Ids of processing payments created more than `graceMs` ago, oldest first, `limit` at most. */
  abstract findOverdue(graceMs: number, limit: number): Promise<string[]>;
}
