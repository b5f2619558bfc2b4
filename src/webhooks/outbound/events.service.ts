import { Injectable } from '@nestjs/common';
import { DomainError } from '../../common/errors/domain-error.js';
import type { EventPageDto, EventsQuery, UndeliveredPageDto, UndeliveredQuery } from './dto/event.dto.js';
import { EndpointsService } from './endpoints.service.js';
import { EVENT_CATALOG } from './event-catalog.js';
import { decodeEventCursor, encodeEventCursor } from './events-cursor.js';
import { EventsRepository } from './events.repository.js';

/**
 * Who may see which events: a shop key the business events (order.*), an admin key every
 * event, the operational ones (endpoint URLs, delivery failures) included.
 */
export type EventsAudience = 'shop' | 'admin';

export function visibleTypes(audience: EventsAudience): string[] {
  return EVENT_CATALOG.filter((e) => audience === 'admin' || !e.operational).map((e) => e.type);
}

/**
 * The events API: the shop's published events, read back oldest first after a cursor, the
 * fallback poll a merchant runs for webhooks it missed; and, per endpoint, the events not
 * delivered yet. Both read the messages the outbox keeps, so retention is theirs.
 */
@Injectable()
export class EventsService {
  constructor(
    private readonly events: EventsRepository,
    private readonly endpoints: EndpointsService,
  ) {}

  async list(audience: EventsAudience, q: EventsQuery): Promise<EventPageDto> {
    const limit = q.limit ?? 20;
    const after = q.after ? decodeEventCursor(q.after) : null;
    const types = this.typesOf(audience, q.types);
    const rows = await this.events.page('shop', {
      after,
      types,
      since: q.since ? new Date(q.since) : null,
      until: q.until ? new Date(q.until) : null,
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      data: page.map((r) => r.payload),
      nextCursor: last ? encodeEventCursor(last) : (q.after ?? null),
      hasMore: rows.length > limit,
    };
  }

  async undelivered(endpointId: string, q: UndeliveredQuery): Promise<UndeliveredPageDto> {
    await this.endpoints.get('shop', endpointId);
    const limit = q.limit ?? 20;
    const after = q.after ? decodeEventCursor(q.after) : null;
    const rows = await this.events.undeliveredOfEndpoint(endpointId, after, limit + 1);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      data: page.map((r) => ({
        event: r.payload,
        deliveryId: r.deliveryId,
        status: r.status,
        attempts: r.attempts,
        lastError: r.lastError,
      })),
      nextCursor: last ? encodeEventCursor(last) : (q.after ?? null),
      hasMore: rows.length > limit,
    };
  }

  /** The types a query asks for, among those the caller may see; wildcards expanded. */
  private typesOf(audience: EventsAudience, asked: string | undefined): string[] | null {
    const visible = visibleTypes(audience);
    if (!asked) return audience === 'admin' ? null : visible;
    const entries = asked.split(',');
    const unknown: string[] = [];
    const types = new Set<string>();
    for (const entry of entries) {
      const matched = entry.endsWith('.*')
        ? visible.filter((t) => t.startsWith(entry.slice(0, -1)))
        : visible.filter((t) => t === entry);
      if (matched.length === 0) unknown.push(entry);
      for (const t of matched) types.add(t);
    }
    if (unknown.length > 0) {
      throw new DomainError(
        'EVENT.UNKNOWN_TYPE',
        400,
        'Unknown event type',
        `Not an event type this key may list: ${unknown.join(', ')}.`,
        { unknownTypes: unknown, knownTypes: visible },
      );
    }
    return [...types];
  }
}
