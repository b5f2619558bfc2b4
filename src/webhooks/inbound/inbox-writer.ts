import { createHash } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AllConfig } from '../../config/env.js';
import { isDatabaseUnavailable } from '../../common/errors/unavailable.js';
import { dataExceptionCode } from '../../common/errors/data-exception.js';
import { DomainError } from '../../common/errors/domain-error.js';
import { GroupCommit } from '../../common/db/group-commit.js';
import type { InboundEventDto } from './inbound-event.dto.js';
import { InboundMetrics } from './inbound-metrics.js';
import { InboxQueue } from './inbox-queue.js';
import { InboxRepository, eventKey, type IncomingEvent } from './inbox.repository.js';
import { eventLogIds } from './event-log-ids.js';
import type { VerifiedWebhook } from './webhook-signature.guard.js';

/** How long a backlog count is reused. */
const BACKLOG_CHECK_MS = 1000;

/** Most events in one INSERT of the receiver's group commit. */
export const RECEIVE_MAX_BATCH = 256;
/** Receiver INSERTs running at once; events arriving meanwhile wait and share the next one (docs/decisions/0001-receiver-group-commit.md). */
export const RECEIVE_MAX_IN_FLIGHT = 2;
/**
 * Most event JSON in one INSERT, in characters (about bytes): 16 of the largest events
 * the default WEBHOOK_MAX_BODY_BYTES (256 KB) lets in, while 1 KB events still fill
 * RECEIVE_MAX_BATCH. A burst of large events never becomes one statement of up to 64 MB.
 */
export const RECEIVE_MAX_BATCH_CHARS = 4 * 1024 * 1024;

/** What became of a received event: stored and queued, known already, or refused because the backlog is full (nothing stored). */
export type ReceiveOutcome =
  { status: 'accepted'; inboxId: string } | { status: 'duplicate' } | { status: 'backlog-full' };

type Written =
  | { outcome: 'accepted'; inboxId: string; enqueued: Promise<number> }
  /** storedSha256: the body hash of the row already there (null when unknown: stored without one, or not visible yet). */
  | { outcome: 'duplicate'; storedSha256: Promise<string | null> };

/**
 * Writes received events into the inbox: the receiver's group commit (one INSERT and
 * one enqueue for the events that arrive together), the backlog check that refuses
 * events while too many wait, and the bulk insert of events reconciliation pulled.
 */
@Injectable()
export class InboxWriter {
  private readonly logger = new Logger('Inbox');
  private readonly backlogLimit: number;
  private readonly writer = new GroupCommit<IncomingEvent, Written>(
    (items) => this.writeBatch(items),
    RECEIVE_MAX_BATCH,
    RECEIVE_MAX_IN_FLIGHT,
    {
      size: { weigh: (item) => item.json.length, max: RECEIVE_MAX_BATCH_CHARS },
      // PostgreSQL down fails the whole batch (503 for each). Anything else may be one
      // event PostgreSQL refuses: the events are written again one by one so it fails alone.
      retryAlone: (err) => !isDatabaseUnavailable(err),
    },
  );
  private backlog: { at: number; count: number } | null = null;
  /** The backlog count in flight, shared by every request that finds the last one stale. */
  private counting: Promise<void> | null = null;

  constructor(
    private readonly repository: InboxRepository,
    private readonly queue: InboxQueue,
    private readonly metrics: InboundMetrics,
    config: ConfigService<AllConfig, true>,
  ) {
    this.backlogLimit = config.get('INBOX_BACKLOG_LIMIT', { infer: true });
  }

  /**
   * Whether the unprocessed backlog is over INBOX_BACKLOG_LIMIT. Counted at most once
   * a second per process, so a burst costs one count query, not one per request: while
   * a new count runs, requests go on with the last one (only the very first count is
   * waited for), and a count that fails keeps the last one
   * (docs/decisions/0017-backlog-count-once-a-second.md).
   */
  async backlogFull(): Promise<boolean> {
    if (!this.backlog || Date.now() - this.backlog.at > BACKLOG_CHECK_MS) {
      if (!this.counting) {
        this.counting = this.countBacklog().finally(() => (this.counting = null));
        this.counting.catch(() => undefined); // a refresh nobody waits for must not go unhandled
      }
      if (!this.backlog) await this.counting;
    }
    return this.backlog!.count >= this.backlogLimit;
  }

  private async countBacklog(): Promise<void> {
    const count = await this.repository.countBacklog();
    this.backlog = { at: Date.now(), count };
  }

  /**
   * Stores a verified event (the durable record the sender's 2xx stands for) and
   * enqueues it, unless the backlog is full (then nothing is stored). A second delivery
   * of the same (source, event_id) stores nothing.
   * Concurrent calls share one INSERT and one commit, then one addBulk (GroupCommit):
   * each call still returns only once its own row is committed, so an event is never
   * acknowledged before it is stored, and a database error fails every call of its batch.
   * `raw` is the verified body, stored as is (parsed once by PostgreSQL, not re-serialised).
   */
  async receive(
    webhook: VerifiedWebhook,
    event: InboundEventDto,
    raw?: Buffer,
    /** The receiving span's W3C traceparent, stored with the row (null with tracing off). */
    traceparent: string | null = null,
  ): Promise<ReceiveOutcome> {
    if (await this.backlogFull()) return { status: 'backlog-full' };
    const json = raw ? raw.toString('utf8') : JSON.stringify(event);
    const sha256 = createHash('sha256')
      .update(raw ?? json)
      .digest('hex');
    const written = await this.writer
      .submit({
        source: webhook.source,
        eventId: event.event_id,
        eventType: event.type,
        json,
        sha256,
        receivedAt: webhook.receivedAt,
        verifiedAt: webhook.verifiedAt,
        traceparent,
      })
      .catch((err: unknown) => {
        // Written alone by then (retryAlone), so a data exception is this event's own:
        // whatever else PostgreSQL refuses that the receiver's checks let through.
        const sqlState = dataExceptionCode(err);
        if (!sqlState) throw err;
        this.logger.warn({
          msg: `Refused ${webhook.source} event ${event.event_id} (${event.type}): PostgreSQL cannot store it (SQLSTATE ${sqlState}: ${(err as Error).message})`,
          ...eventLogIds(event),
        });
        throw unstorableEvent(`PostgreSQL cannot store it as jsonb (SQLSTATE ${sqlState})`);
      });
    if (written.outcome === 'duplicate') {
      await this.compareDuplicate(webhook, event, sha256, written.storedSha256);
      this.logger.log({
        msg: `Duplicate ${webhook.source} event ${event.event_id} (${event.type}) ignored`,
        ...eventLogIds(event),
        requestWebhookId: webhook.webhookId,
      });
      return { status: 'duplicate' };
    }
    const { inboxId } = written;
    await written.enqueued;
    this.logger.log({
      msg: `Accepted ${webhook.source} event ${event.event_id} (${event.type}) as inbox ${inboxId}`,
      ...eventLogIds(event),
      inboxId,
    });
    return { status: 'accepted', inboxId };
  }

  /**
   * A redelivered event_id is a duplicate whatever its body (as Stripe and Svix do), but
   * a body that differs from the stored one is logged with both hashes and counted: a
   * sender reusing ids, or someone replaying a signed id with another body.
   */
  private async compareDuplicate(
    webhook: VerifiedWebhook,
    event: InboundEventDto,
    sha256: string,
    storedSha256: Promise<string | null>,
  ): Promise<void> {
    try {
      const stored = { sha256: await storedSha256 };
      if (!stored.sha256 || stored.sha256 === sha256) return;
      this.metrics.duplicateBodyDiffers.inc({ source: webhook.source });
      this.logger.warn({
        msg: `Duplicate ${webhook.source} event ${event.event_id} (${event.type}) has another body than the one stored: ignored as a duplicate`,
        ...eventLogIds(event),
        storedBodySha256: stored.sha256,
        receivedBodySha256: sha256,
        requestWebhookId: webhook.webhookId,
      });
    } catch (err) {
      this.logger.warn(
        `Could not compare the body of duplicate ${webhook.source} event ${event.event_id}: ${(err as Error).message}`,
      );
    }
  }

  /** One batch of the group commit: one INSERT for every event, then one addBulk for the new rows. */
  private async writeBatch(items: IncomingEvent[]): Promise<Written[]> {
    // The same event twice in one batch: the first occurrence decides, the others are duplicates.
    const firstIndex = new Map<string, number>();
    items.forEach((it, i) => {
      const key = eventKey(it.source, it.eventId);
      if (!firstIndex.has(key)) firstIndex.set(key, i);
    });
    const unique = [...firstIndex.values()].map((i) => items[i]);
    const inserted = await this.repository.insertReceived(unique);
    const ids = [...inserted.values()];
    if (this.backlog) this.backlog.count += ids.length; // keep the cached backlog honest between counts
    const enqueued = ids.length > 0 ? this.queue.enqueue(ids) : Promise.resolve(0);
    // The stored bodies' hashes of the batch's duplicates: one query for the batch, which
    // only their answers wait for (the new events' answers do not).
    const seenBefore = unique.filter((it) => !inserted.has(eventKey(it.source, it.eventId)));
    const storedHashes = seenBefore.length > 0 ? this.repository.storedHashes(seenBefore) : Promise.resolve(new Map());
    return items.map((it, i): Written => {
      const key = eventKey(it.source, it.eventId);
      const inboxId = inserted.get(key);
      if (inboxId && firstIndex.get(key) === i) return { outcome: 'accepted', inboxId, enqueued };
      const storedSha256 = inboxId
        ? Promise.resolve(items[firstIndex.get(key)!].sha256) // its first occurrence in this batch
        : storedHashes.then((hashes: Map<string, string | null>) => hashes.get(key) ?? null);
      return { outcome: 'duplicate', storedSha256 };
    });
  }

  /**
   * Stores events pulled from a source's events API (reconciliation) in one statement;
   * those already received by webhook are skipped by the unique (source, event_id).
   * Returns the ids of the new rows, already enqueued.
   */
  async receiveBulk(
    source: string,
    events: InboundEventDto[],
    /** Per event, the trace its applying joins (tracing on); absent: none. */
    traceparents?: (string | null)[],
  ): Promise<string[]> {
    if (events.length === 0) return [];
    const ids = await this.repository.insertReconciled(source, events, new Date(), traceparents);
    await this.queue.enqueue(ids);
    return ids;
  }
}

/** 422 for a verified event PostgreSQL cannot store as jsonb; nothing is stored (decision record 0501). */
export function unstorableEvent(detail: string): DomainError {
  return new DomainError(
    'WEBHOOK.UNSTORABLE_EVENT',
    422,
    'Event cannot be stored',
    `The event ${detail}. Nothing was stored.`,
  );
}
