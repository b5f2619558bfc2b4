import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import {
  EventsRepository,
  type EventPosition,
  type EventRow,
  type EventsFilter,
  type UndeliveredRow,
} from '../events.repository.js';
import type { OutboundOwner } from '../outbound.entities.js';

/**
 * A message's created_at is its transaction's start (now()). Any transaction still open
 * in this database may yet commit messages stamped at its start, so only messages older
 * than the oldest open transaction are listed: a reader's cursor never passes a message
 * that commits after it read (docs/decisions/0902-events-visibility-horizon.md).
 */
const HORIZON = `(SELECT coalesce(min(xact_start), 'infinity') FROM pg_stat_activity
                   WHERE datname = current_database() AND xact_start IS NOT NULL AND pid <> pg_backend_pid())`;
const AT = `to_char(m.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')`;

interface Row {
  at: string;
  id: string;
  payload: Record<string, unknown>;
}

@Injectable()
export class TypeormEventsRepository extends EventsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {
    super();
  }

  page(owner: OutboundOwner, f: EventsFilter): Promise<EventRow[]> {
    return this.db.query<Row[]>(
      `SELECT ${AT} AS at, m.id, m.payload
         FROM webhook_messages m
        WHERE m.owner = $1
          AND m.created_at < ${HORIZON}
          AND ($2::timestamp IS NULL OR (m.created_at, m.id) > ($2::timestamp AT TIME ZONE 'UTC', $3::uuid))
          AND ($4::text[] IS NULL OR m.event_type = ANY($4::text[]))
          AND ($5::timestamptz IS NULL OR m.created_at >= $5)
          AND ($6::timestamptz IS NULL OR m.created_at < $6)
        ORDER BY m.created_at, m.id
        LIMIT $7`,
      [owner, f.after?.at ?? null, f.after?.id ?? null, f.types, f.since, f.until, f.limit],
    );
  }

  undeliveredOfEndpoint(endpointId: string, after: EventPosition | null, limit: number): Promise<UndeliveredRow[]> {
    return this.db.query<UndeliveredRow[]>(
      `SELECT ${AT} AS at, m.id, m.payload, d.id AS "deliveryId", d.status, d.attempts, d.last_error AS "lastError"
         FROM webhook_deliveries d
         JOIN webhook_messages m ON m.id = d.message_id
        WHERE d.endpoint_id = $1 AND d.status <> 'succeeded'
          AND ($2::timestamp IS NULL OR (m.created_at, m.id) > ($2::timestamp AT TIME ZONE 'UTC', $3::uuid))
        ORDER BY m.created_at, m.id
        LIMIT $4`,
      [endpointId, after?.at ?? null, after?.id ?? null, limit],
    );
  }
}
