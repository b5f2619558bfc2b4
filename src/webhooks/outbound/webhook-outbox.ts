import { getQueueToken } from '@nestjs/bull';
import { Injectable, Logger } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { Queue } from 'bull';
import type { EntityManager } from 'typeorm';
import { afterCommit } from '../../common/db/after-commit.js';
import { preparedQuery } from '../../common/db/prepared-query.js';
import { JobName, QueueName } from '../../queue/queues.js';
import type { OutboundOwner } from './outbound.entities.js';

/** Event types only endpoints that name them receive (never an "all types" subscription). */
export const OPERATIONAL_EVENT_TYPES = ['endpoint.disabled', 'webhook.test'] as const;

export const DELIVERY_QUEUE: Record<OutboundOwner, QueueName> = {
  shop: QueueName.WebhookDelivery,
  psp: QueueName.PspDelivery,
};

/** Bull never gives up on a delivery job: the engine decides, from its own schedule, when to stop. */
export const DELIVERY_JOB_ATTEMPTS = 1_000_000;
/** Name of the backoff strategy that takes the wait the engine computed (registered on the delivery queues). */
export const ENGINE_BACKOFF = 'engine-schedule';

export interface DeliverJob {
  deliveryId: string;
}

/** The Bull job of a delivery: job id = delivery id, retried only as the engine decides, gone once done. */
export function deliveryJob(deliveryId: string, delayMs = 0) {
  return {
    name: JobName.DeliverWebhook,
    data: { deliveryId } satisfies DeliverJob,
    opts: {
      jobId: deliveryId,
      attempts: DELIVERY_JOB_ATTEMPTS,
      backoff: { type: ENGINE_BACKOFF },
      ...(delayMs > 0 ? { delay: delayMs } : {}),
      removeOnComplete: true,
      removeOnFail: true,
    },
  };
}

export interface PublishRequest {
  owner: OutboundOwner;
  /** The publisher's event id (`webhook-id`); publishing it again is a no-op. */
  eventId: string;
  eventType: string;
  payload: Record<string, unknown>;
  /** Also deliver to this URL (the PSP mock: the payment's callback_url). */
  callbackUrl?: string | null;
  /** The callback delivery is recorded as failed and never sent (PSP chaos: dropped). */
  dropCallback?: boolean;
  /** Hold the first attempt back this long (PSP chaos: delayed, reordered). */
  delayMs?: number;
  /** Only these endpoints (a test message), whatever they subscribe to. */
  endpointIds?: string[];
}

export interface Published {
  owner: OutboundOwner;
  messageId: string | null;
  /** Deliveries to enqueue after commit. */
  pending: { id: string; delayMs: number }[];
  callbackDeliveryId: string | null;
}

/**
 * The outbox of outbound webhooks. `publish` runs inside the caller's transaction:
 * the message and one delivery per endpoint commit with the state change that caused
 * them, or not at all. After that transaction commits, the relay enqueues the pending
 * deliveries in one `addBulk` (job id = delivery id) — an `afterCommit` hook, so no
 * caller can forget it; a rollback drops them. If Redis is down then, the sweeper
 * enqueues them later: losing Redis loses nothing.
 */
@Injectable()
export class WebhookOutbox {
  private readonly logger = new Logger('Outbox');

  constructor(private readonly moduleRef: ModuleRef) {}

  /**
   * Writes the message and its deliveries with `manager`; they are enqueued once its
   * transaction commits (at once when `manager` is not in a transaction).
   */
  async publish(manager: EntityManager, req: PublishRequest): Promise<Published> {
    const [published] = await this.publishMany(manager, [req]);
    return published;
  }

  /**
   * `publish` for several messages of one owner with a fixed number of statements,
   * whatever their count (the inbox applies events in batches): one INSERT of the
   * messages, one of their deliveries to registered endpoints, and one relay after commit.
   * Returns one result per request, in order (`messageId` null for an event id published before).
   */
  async publishMany(manager: EntityManager, reqs: PublishRequest[]): Promise<Published[]> {
    if (reqs.length === 0) return [];
    const owner = reqs[0].owner;
    if (reqs.some((r) => r.owner !== owner)) throw new Error('publishMany: one owner per call');
    if (reqs.length > 1 && reqs.some((r) => r.endpointIds)) throw new Error('publishMany: endpointIds only alone');
    const published = await this.write(manager, owner, reqs);
    const pending = published.filter((p) => p.pending.length > 0);
    if (pending.length > 0) await afterCommit(manager, () => this.relay(...pending));
    return published;
  }

  private async write(manager: EntityManager, owner: OutboundOwner, reqs: PublishRequest[]): Promise<Published[]> {
    const messages = await preparedQuery<{ id: string; event_id: string }>(
      manager,
      'hookline_outbox_messages',
      `INSERT INTO webhook_messages (owner, event_id, event_type, payload)
       SELECT $1, m.event_id, m.event_type, p.payload
         FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS m(event_id, event_type, n)
         JOIN jsonb_array_elements($4::jsonb) WITH ORDINALITY AS p(payload, n) USING (n)
        ORDER BY n
       ON CONFLICT (owner, event_id) DO NOTHING RETURNING id, event_id`,
      // The payloads as one JSON array rather than a jsonb[] literal: no quoting of every element by pg.
      [owner, reqs.map((r) => r.eventId), reqs.map((r) => r.eventType), JSON.stringify(reqs.map((r) => r.payload))],
    );
    const messageIds = new Map(messages.map((m) => [m.event_id, m.id]));
    const out = reqs.map((req): Published => ({
      owner,
      messageId: messageIds.get(req.eventId) ?? null,
      pending: [],
      callbackDeliveryId: null,
    }));
    const written = reqs.flatMap((req, i) => (out[i].messageId ? [{ req, out: out[i] }] : []));
    if (written.length === 0) return out;
    // Subscribed endpoints (or the ones named); a disabled endpoint gets its delivery
    // recorded as failed, so that a recover after re-enabling can still send it.
    const rows = await preparedQuery<{ id: string; status: string; message_id: string }>(
      manager,
      'hookline_outbox_deliveries',
      `INSERT INTO webhook_deliveries (message_id, endpoint_id, status, next_attempt_at, last_error)
       SELECT m.id, e.id,
              CASE WHEN e.status = 'enabled' THEN 'pending' ELSE 'failed' END,
              CASE WHEN e.status = 'enabled' THEN now() + make_interval(secs => m.delay_ms / 1000.0) END,
              CASE WHEN e.status = 'enabled' THEN NULL ELSE 'endpoint disabled: ' || coalesce(e.disabled_reason, '') END
         FROM unnest($1::uuid[], $2::text[], $3::int[]) AS m(id, event_type, delay_ms)
         JOIN webhook_endpoints e
           ON e.owner = $4 AND e.kind = 'registered'
          AND CASE WHEN $5::uuid[] IS NOT NULL THEN e.id = ANY($5::uuid[])
                   ELSE (m.event_type = ANY(e.event_types)
                         OR (e.event_types IS NULL AND NOT m.event_type = ANY($6::text[]))) END
       RETURNING id, status, message_id`,
      [
        written.map((w) => w.out.messageId),
        written.map((w) => w.req.eventType),
        written.map((w) => delayOf(w.req)),
        owner,
        reqs.length === 1 ? (reqs[0].endpointIds ?? null) : null,
        OPERATIONAL_EVENT_TYPES,
      ],
    );
    const byMessage = new Map(written.map((w) => [w.out.messageId!, w]));
    for (const row of rows) {
      const w = byMessage.get(row.message_id)!;
      if (row.status === 'pending') w.out.pending.push({ id: row.id, delayMs: delayOf(w.req) });
    }
    for (const w of written) {
      if (w.req.callbackUrl) await this.writeCallback(manager, w.req, w.out);
    }
    return out;
  }

  /** The delivery to a request's callback URL (the PSP mock's callback_url). */
  private async writeCallback(manager: EntityManager, req: PublishRequest, out: Published): Promise<void> {
    const endpointId = await this.callbackEndpoint(manager, req.owner, req.callbackUrl!);
    const [cb] = await manager.query<{ id: string; status: string }[]>(
      `INSERT INTO webhook_deliveries (message_id, endpoint_id, status, next_attempt_at, last_error)
       SELECT $1, e.id,
              CASE WHEN e.status = 'enabled' AND NOT $3 THEN 'pending' ELSE 'failed' END,
              CASE WHEN e.status = 'enabled' AND NOT $3 THEN now() + make_interval(secs => $4 / 1000.0) END,
              CASE WHEN $3 THEN 'dropped by PSP chaos (never sent)'
                   WHEN e.status <> 'enabled' THEN 'endpoint disabled: ' || coalesce(e.disabled_reason, '') END
         FROM webhook_endpoints e WHERE e.id = $2
       RETURNING id, status`,
      [out.messageId, endpointId, req.dropCallback ?? false, delayOf(req)],
    );
    out.callbackDeliveryId = cb.id;
    if (cb.status === 'pending') out.pending.push({ id: cb.id, delayMs: delayOf(req) });
  }

  /** Enqueues what `publish` wrote. Never throws. */
  async relay(...published: Published[]): Promise<void> {
    for (const owner of ['shop', 'psp'] as const) {
      const pending = published.filter((p) => p.owner === owner).flatMap((p) => p.pending);
      if (pending.length > 0) await this.enqueue(owner, pending);
    }
  }

  /** Enqueues deliveries (job id = delivery id: a delivery already queued is left alone). */
  async enqueue(owner: OutboundOwner, deliveries: { id: string; delayMs?: number }[]): Promise<boolean> {
    if (deliveries.length === 0) return true;
    try {
      await this.queue(owner).addBulk(deliveries.map((d) => deliveryJob(d.id, d.delayMs)));
      return true;
    } catch (err) {
      this.logger.warn(
        `Could not enqueue ${deliveries.length} ${owner} delivery(ies), the sweeper will: ${(err as Error).message}`,
      );
      return false;
    }
  }

  queue(owner: OutboundOwner): Queue<DeliverJob> {
    return this.moduleRef.get<Queue<DeliverJob>>(getQueueToken(DELIVERY_QUEUE[owner]), { strict: false });
  }

  /** The endpoint row of a callback URL, made on first use (signed by the publisher's own secret). */
  private async callbackEndpoint(manager: EntityManager, owner: OutboundOwner, url: string): Promise<string> {
    const find = async () =>
      (
        await manager.query<{ id: string }[]>(
          `SELECT id FROM webhook_endpoints WHERE owner = $1 AND kind = 'callback' AND url = $2`,
          [owner, url],
        )
      )[0]?.id;
    const existing = await find();
    if (existing) return existing;
    await manager.query(
      `INSERT INTO webhook_endpoints (owner, kind, url, description) VALUES ($1, 'callback', $2, 'callback_url of payments')
       ON CONFLICT (owner, url) WHERE kind = 'callback' DO NOTHING`,
      [owner, url],
    );
    return await find();
  }
}

function delayOf(req: PublishRequest): number {
  return Math.max(0, Math.round(req.delayMs ?? 0));
}
