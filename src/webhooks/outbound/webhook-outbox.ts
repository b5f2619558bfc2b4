import { getQueueToken } from '@nestjs/bull';
import { Injectable, Logger } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { Queue } from 'bull';
import type { EntityManager } from 'typeorm';
import { afterCommit } from '../../common/db/after-commit.js';
import { DeliveriesRepository, type LoadedDelivery, type OutboxSource } from './deliveries.repository.js';
import { DELIVERY_QUEUE, deliveryJob, type DeliverJob } from './delivery/delivery-job.js';
import { EndpointsRepository } from './endpoints.repository.js';
import type { OutboundOwner } from './outbound.entities.js';

import { OPERATIONAL_EVENT_TYPES } from './event-catalog.js';
import { activeTraceparent } from '../../telemetry/trace-context.js';

export type { OutboxSource };

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
  /**
   * The callback delivery is left out of the relay: the publisher makes its first attempt
   * itself once the transaction has committed (the PSP mock), and if that attempt never
   * runs (a crash) the sweeper enqueues the delivery as it does a lost job.
   */
  sendCallbackDirectly?: boolean;
  /** Only these endpoints (a test message), whatever they subscribe to. */
  endpointIds?: string[];
  /**
   * W3C traceparent stored with the message: its delivery attempts are spans of that
   * trace and their POSTs carry it. Default: the span running when it is published; null
   * with tracing off.
   */
  traceparent?: string | null;
}

/** How a message written within a publisher's statement is delivered (`publishWithin`). */
export type WithinRequest = Pick<
  PublishRequest,
  'owner' | 'callbackUrl' | 'dropCallback' | 'delayMs' | 'sendCallbackDirectly'
>;

/** What `publishWithin` wrote: null when the source's change did not happen; the source's own answer. */
export interface PublishedWithin {
  published: Published | null;
  answer: { ref: string; value: string | null }[];
}

export interface Published {
  owner: OutboundOwner;
  messageId: string | null;
  /** Deliveries to enqueue after commit. */
  pending: { id: string; delayMs: number }[];
  callbackDeliveryId: string | null;
  /** The callback delivery as its first attempt needs it (publishWithin only): no load of its own. */
  callbackDelivery?: LoadedDelivery;
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

  constructor(
    private readonly moduleRef: ModuleRef,
    private readonly deliveries: DeliveriesRepository,
    private readonly endpoints: EndpointsRepository,
  ) {}

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

  /**
   * `publish` for a state change and the message it causes written in ONE statement (the
   * PSP mock's settlement): the caller's CTEs (`source`) end in `outbox_event`, and the
   * message and its deliveries are inserted from it in the same statement — atomic
   * without a transaction. A URL's first use makes its callback endpoint and runs the
   * statement again (the change waits for it: see OutboxSource). Answers null when the
   * source's change did not happen (no `outbox_event` row); the relay runs as `publish`'s.
   */
  async publishWithin(manager: EntityManager, source: OutboxSource, req: WithinRequest): Promise<PublishedWithin> {
    const write = {
      owner: req.owner,
      callbackUrl: req.callbackUrl ?? null,
      dropCallback: req.dropCallback ?? false,
      delayMs: delayOf(req),
      operationalTypes: OPERATIONAL_EVENT_TYPES,
    };
    let rows = await this.deliveries.writeWithin(manager, source, write);
    if (!rows.some((r) => r.kind === 'ready')) {
      await this.endpoints.insertCallback(manager, req.owner, write.callbackUrl!);
      rows = await this.deliveries.writeWithin(manager, source, write);
      if (!rows.some((r) => r.kind === 'ready'))
        throw new Error(`No callback endpoint for ${write.callbackUrl} after making it`);
    }
    const answer = rows.flatMap((r) => (r.kind === 'answer' ? [{ ref: r.ref!, value: r.status }] : []));
    if (!rows.some((r) => r.kind === 'event')) return { published: null, answer };
    const message = rows.find((r) => r.kind === 'message');
    const published: Published = {
      owner: req.owner,
      messageId: message?.id ?? null,
      pending: [],
      callbackDeliveryId: null,
    };
    for (const row of rows) {
      if (row.kind === 'delivery' && row.status === 'pending')
        published.pending.push({ id: row.id!, delayMs: write.delayMs });
      if (row.kind === 'callback') {
        published.callbackDeliveryId = row.id;
        published.callbackDelivery = row.loaded;
        if (row.status === 'pending' && !req.sendCallbackDirectly)
          published.pending.push({ id: row.id!, delayMs: write.delayMs });
      }
    }
    if (published.pending.length > 0) await afterCommit(manager, () => this.relay(published));
    return { published, answer };
  }

  private async write(manager: EntityManager, owner: OutboundOwner, reqs: PublishRequest[]): Promise<Published[]> {
    // The messages and their deliveries to subscribed endpoints (or the ones named) in one
    // statement: an event id published before inserts neither. A disabled endpoint gets
    // its delivery recorded as failed, so that a recover after re-enabling can still send it.
    const rows = await this.deliveries.writeMessages(manager, {
      owner,
      eventIds: reqs.map((r) => r.eventId),
      eventTypes: reqs.map((r) => r.eventType),
      // The payloads as one JSON array rather than a jsonb[] literal: no quoting of every element by pg.
      payloads: JSON.stringify(reqs.map((r) => r.payload)),
      delaysMs: reqs.map((r) => delayOf(r)),
      traceContexts: traceContextsOf(reqs),
      endpointIds: reqs.length === 1 ? (reqs[0].endpointIds ?? null) : null,
      operationalTypes: OPERATIONAL_EVENT_TYPES,
    });
    const messageIds = new Map(rows.filter((r) => r.kind === 'message').map((r) => [r.ref, r.id]));
    const out = reqs.map((req): Published => ({
      owner,
      messageId: messageIds.get(req.eventId) ?? null,
      pending: [],
      callbackDeliveryId: null,
    }));
    const written = reqs.flatMap((req, i) => (out[i].messageId ? [{ req, out: out[i] }] : []));
    const byMessage = new Map(written.map((w) => [w.out.messageId!, w]));
    for (const row of rows) {
      if (row.kind !== 'delivery' || row.status !== 'pending') continue;
      const w = byMessage.get(row.ref)!;
      w.out.pending.push({ id: row.id, delayMs: delayOf(w.req) });
    }
    for (const w of written) {
      if (w.req.callbackUrl) await this.writeCallback(manager, w.req, w.out);
    }
    return out;
  }

  /**
   * The delivery to a request's callback URL (the PSP mock's callback_url): one statement
   * that finds the endpoint by its URL; the endpoint row is made on the URL's first use
   * (signed by the publisher's own secret) and the statement run again.
   */
  private async writeCallback(manager: EntityManager, req: PublishRequest, out: Published): Promise<void> {
    const callback = { owner: req.owner, url: req.callbackUrl! };
    const write = () =>
      this.deliveries.writeCallbackDelivery(manager, out.messageId, callback, req.dropCallback ?? false, delayOf(req));
    let cb = await write();
    if (!cb) {
      await this.endpoints.insertCallback(manager, callback.owner, callback.url);
      cb = await write();
      if (!cb) throw new Error(`No callback endpoint for ${callback.url} after making it`);
    }
    out.callbackDeliveryId = cb.id;
    if (cb.status === 'pending' && !req.sendCallbackDirectly) out.pending.push({ id: cb.id, delayMs: delayOf(req) });
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
}

/** Each message's trace context, or null when none has one (tracing off: the column is not even bound). */
function traceContextsOf(reqs: PublishRequest[]): (string | null)[] | null {
  const active = activeTraceparent();
  const contexts = reqs.map((r) => (r.traceparent === undefined ? active : r.traceparent));
  return contexts.some((c) => c !== null) ? contexts : null;
}

function delayOf(req: Pick<PublishRequest, 'delayMs'>): number {
  return Math.max(0, Math.round(req.delayMs ?? 0));
}
