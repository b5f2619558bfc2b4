import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

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
 * Applies one source's events. `handle` runs inside the transaction that marks the
 * inbox rows processed, so it must do all its writes through `manager`. It gets the
 * events of one batch, in the order they were received, and returns one result per
 * event, in order; a handler that throws rolls the whole batch back (the inbox then
 * retries its events one by one, so one bad event fails alone).
 */
export interface WebhookEventHandler {
  handle(manager: EntityManager, events: InboundEvent[]): Promise<HandlerResult[]>;
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
}
