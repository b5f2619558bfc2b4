import { createHash } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { DeliveriesRepository } from '../deliveries.repository.js';
import { OPERATIONAL_EVENT_TYPES } from '../event-catalog.js';
import type { AttemptContext } from '../outbound-hooks.js';
import { WebhookOutbox } from '../webhook-outbox.js';

/**
 * The operational events about deliveries of the shop's messages: `message.attempt.exhausted`
 * (a delivery gave up) and `message.attempt.recovered` (one succeeded after failing). None is
 * sent about an operational message, so a dead operations endpoint cannot feed itself.
 * Their event ids derive from the delivery and the attempt, so recording an attempt twice
 * publishes once (the outbox skips an event id it has).
 */
@Injectable()
export class DeliveryNotices {
  private readonly logger = new Logger('Outbound');

  constructor(
    private readonly outbox: WebhookOutbox,
    private readonly deliveries: DeliveriesRepository,
  ) {}

  private concerns(ctx: AttemptContext): boolean {
    return ctx.owner === 'shop' && !OPERATIONAL_EVENT_TYPES.includes(ctx.message.eventType);
  }

  /** In the transaction that records the deliveries' last failures. */
  async exhausted(manager: EntityManager, ended: { ctx: AttemptContext; error: string }[]): Promise<void> {
    const reqs = ended
      .filter((e) => this.concerns(e.ctx))
      .map(({ ctx, error }) => {
        const eventId = derivedEventId(`${ctx.delivery.id}:exhausted:${ctx.attempt}`);
        return {
          owner: 'shop' as const,
          eventId,
          eventType: 'message.attempt.exhausted',
          payload: {
            event_id: eventId,
            type: 'message.attempt.exhausted',
            created_at: new Date().toISOString(),
            data: { ...about(ctx), last_error: error },
          },
        };
      });
    if (reqs.length > 0) await this.outbox.publishMany(manager, reqs);
  }

  /** After a success was recorded; a failure to publish is logged, the success stands. */
  async recovered(ctx: AttemptContext, startedAt: Date): Promise<void> {
    if (ctx.attempt < 2 || !this.concerns(ctx)) return;
    const eventId = derivedEventId(`${ctx.delivery.id}:recovered:${startedAt.toISOString()}`);
    try {
      await this.deliveries.transaction((manager) =>
        this.outbox.publish(manager, {
          owner: 'shop',
          eventId,
          eventType: 'message.attempt.recovered',
          payload: {
            event_id: eventId,
            type: 'message.attempt.recovered',
            created_at: new Date().toISOString(),
            data: about(ctx),
          },
        }),
      );
    } catch (err) {
      this.logger.warn(
        `Could not publish message.attempt.recovered for delivery ${ctx.delivery.id}: ${(err as Error).message}`,
      );
    }
  }
}

function about(ctx: AttemptContext) {
  return {
    endpoint_id: ctx.endpoint.id,
    delivery_id: ctx.delivery.id,
    message_event_id: ctx.message.eventId,
    message_type: ctx.message.eventType,
    attempts: ctx.attempt,
  };
}

/** An evt_ id (the prefixedId shape) derived from what the event is about. */
function derivedEventId(seed: string): string {
  return `evt_${createHash('sha256').update(`hookline-notice:${seed}`).digest('hex').slice(0, 24)}`;
}
