import type { PspEvent } from './psp-event.entity.js';

/** A comparison of an event's created_at (at whole seconds) with a Unix time. */
export interface CreatedBound {
  compare: '>' | '>=' | '<' | '<=';
  unix: number;
}

/** Which of the Stripe dialect's events a page holds (GET /v1/events). */
export interface StripeEventsFilter {
  /** Only events before this seq (starting_after). */
  olderThan?: string;
  /** Only events after this seq (ending_before): the page is then read oldest first. */
  newerThan?: string;
  /** Only these types (types[…]). */
  types?: string[];
  type?: string;
  /** created=T: created at exactly this Unix time. */
  createdAt?: number;
  /** created[gt|gte|lt|lte]=T. */
  created?: CreatedBound[];
  take: number;
}

/**
 * The PSP's events (psp_events) as its APIs list them, and the delivery state each
 * mirrors: the persistence port of PspMockService, StripeDialectService and
 * PspOutboundHooks (TypeormPspEventsRepository implements it). A settlement inserts
 * its event with the payment's move (PspPaymentsRepository.settlementSource).
 */
export abstract class PspEventsRepository {
  /** The event's position in the events' order (seq), null when there is no such event. */
  abstract seqOf(eventId: string): Promise<string | null>;

  /** The mock's own events, oldest first, after `afterSeq`, of `type`; `take` at most. */
  abstract page(q: { afterSeq?: string; type?: string; take: number }): Promise<PspEvent[]>;

  /** The Stripe dialect's events, newest first (oldest first with `newerThan`); `take` at most. */
  abstract stripePage(filter: StripeEventsFilter): Promise<PspEvent[]>;

  /**
   * How an attempt of an event's callback delivery is mirrored on the event: an
   * `AttemptMirror`'s statement over `mirrored` (event_id, succeeded, final, error), which
   * the outbound engine runs in the statement that records the attempt.
   */
  abstract readonly callbackAttemptMirrorSql: string;
}
