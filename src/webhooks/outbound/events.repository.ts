import type { OutboundOwner } from './outbound.entities.js';

/** A position in the events' order (created_at with microseconds, then id): what a cursor holds. */
export interface EventPosition {
  /** created_at as UTC text with microseconds (2026-12-05T09:30:00.123456). */
  at: string;
  id: string;
}

export interface EventRow extends EventPosition {
  payload: Record<string, unknown>;
}

export interface UndeliveredRow extends EventRow {
  deliveryId: string;
  status: 'pending' | 'failed';
  attempts: number;
  lastError: string | null;
}

export interface EventsFilter {
  after: EventPosition | null;
  /** Only these types (null: every type). */
  types: string[] | null;
  since: Date | null;
  until: Date | null;
  limit: number;
}

/**
 * The port to the messages an owner published, read as events (GET /events) and, per
 * endpoint, the ones not delivered yet. Oldest first; only messages whose transaction
 * has committed and that no still-open transaction can precede, so that a cursor never
 * passes an event that shows up later.
 */
export abstract class EventsRepository {
  abstract page(owner: OutboundOwner, filter: EventsFilter): Promise<EventRow[]>;

  abstract undeliveredOfEndpoint(
    endpointId: string,
    after: EventPosition | null,
    limit: number,
  ): Promise<UndeliveredRow[]>;
}
