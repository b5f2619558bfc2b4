import { InjectQueue } from '@nestjs/bull';
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import type { AllConfig } from '../../config/env.js';
import type { Queue } from 'bull';
import { DataSource } from 'typeorm';
import { HooklineMetrics } from '../../metrics/hookline-metrics.js';
import { JobName, QueueName, defaultJobOptions } from '../../queue/queues.js';
import type { InboundEventDto } from './inbound-event.dto.js';
import { isDatabaseUnavailable } from '../../common/errors/unavailable.js';
import { GroupCommit } from '../../common/db/group-commit.js';
import { InboxEntry } from './inbox-entry.entity.js';
import { WebhookHandlerRegistry } from './webhook-handler.js';
import type { VerifiedWebhook } from './webhook-signature.guard.js';

/** How long a backlog count is reused. */
const BACKLOG_CHECK_MS = 1000;
/** What a 429 for a full backlog asks the sender to wait. */
export const BACKLOG_RETRY_AFTER_S = 5;

export interface ApplyInboxJob {
  inboxId: string;
}

export type ReceiveOutcome = { status: 'accepted'; inboxId: string } | { status: 'duplicate' };

/** Most events in one INSERT of the receiver's group commit. */
export const RECEIVE_MAX_BATCH = 256;
/** Receiver INSERTs running at once; events arriving meanwhile wait and share the next one. */
export const RECEIVE_MAX_IN_FLIGHT = 2;

interface IncomingEvent {
  source: string;
  eventId: string;
  eventType: string;
  /** The event as JSON text (the verified raw body). */
  json: string;
  receivedAt: Date;
  verifiedAt: Date;
}

type Written =
  | { outcome: 'accepted'; inboxId: string; enqueued: Promise<number> }
  | { outcome: 'duplicate' }
  | { outcome: 'failed'; error: unknown };

@Injectable()
export class InboxService {
  private readonly logger = new Logger('Inbox');

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @InjectQueue(QueueName.WebhookInbox) private readonly queue: Queue<ApplyInboxJob>,
    private readonly handlers: WebhookHandlerRegistry,
    private readonly metrics: HooklineMetrics,
    config: ConfigService<AllConfig, true>,
  ) {
    this.enqueueTimeoutMs = config.get('ENQUEUE_TIMEOUT_MS', { infer: true });
    this.backlogLimit = config.get('INBOX_BACKLOG_LIMIT', { infer: true });
  }

  private readonly enqueueTimeoutMs: number;
  private readonly backlogLimit: number;
  private readonly writer = new GroupCommit<IncomingEvent, Written>(
    (items) => this.writeBatch(items),
    RECEIVE_MAX_BATCH,
    RECEIVE_MAX_IN_FLIGHT,
  );
  private backlog: { at: number; count: number } | null = null;

  /**
   * Whether the unprocessed backlog is over INBOX_BACKLOG_LIMIT. Counted at most once
   * a second per process, so a burst costs one count query, not one per request.
   */
  async backlogFull(): Promise<boolean> {
    if (!this.backlog || Date.now() - this.backlog.at > BACKLOG_CHECK_MS) {
      const [{ n }]: { n: number }[] = await this.db.query(
        `SELECT count(*)::int AS n FROM webhook_inbox WHERE processed_at IS NULL`,
      );
      this.backlog = { at: Date.now(), count: n };
    }
    return this.backlog.count >= this.backlogLimit;
  }

  /**
   * Stores a verified event (the durable record the sender's 2xx stands for) and
   * enqueues it. A second delivery of the same (source, event_id) stores nothing.
   * Concurrent calls share one INSERT and one commit, then one addBulk (GroupCommit):
   * each call still returns only once its own row is committed, so an event is never
   * acknowledged before it is stored, and a database error fails every call of its batch.
   * `raw` is the verified body, stored as is (parsed once by PostgreSQL, not re-serialised).
   */
  async receive(webhook: VerifiedWebhook, event: InboundEventDto, raw?: Buffer): Promise<ReceiveOutcome> {
    const written = await this.writer.submit({
      source: webhook.source,
      eventId: event.event_id,
      eventType: event.type,
      json: raw ? raw.toString('utf8') : JSON.stringify(event),
      receivedAt: webhook.receivedAt,
      verifiedAt: webhook.verifiedAt,
    });
    if (written.outcome === 'failed') throw written.error;
    if (written.outcome === 'duplicate') {
      this.logger.log({
        msg: `Duplicate ${webhook.source} event ${event.event_id} (${event.type}) ignored`,
        ...eventIds(event),
        requestWebhookId: webhook.webhookId,
      });
      return { status: 'duplicate' };
    }
    const { inboxId } = written;
    await written.enqueued;
    this.logger.log({
      msg: `Accepted ${webhook.source} event ${event.event_id} (${event.type}) as inbox ${inboxId}`,
      ...eventIds(event),
      inboxId,
    });
    return { status: 'accepted', inboxId };
  }

  /** One batch of the group commit: one INSERT for every event, then one addBulk for the new rows. */
  private async writeBatch(items: IncomingEvent[]): Promise<Written[]> {
    // The same event twice in one batch: the first occurrence decides, the others are duplicates.
    const firstIndex = new Map<string, number>();
    items.forEach((it, i) => {
      const key = `${it.source}\u0000${it.eventId}`;
      if (!firstIndex.has(key)) firstIndex.set(key, i);
    });
    const unique = [...firstIndex.values()].map((i) => items[i]);
    let inserted: Map<string, string>;
    try {
      inserted = await this.insertRows(unique);
    } catch (err) {
      // PostgreSQL down fails the whole batch (503 for each). Anything else may be one
      // event PostgreSQL refuses: retry them one by one so it fails alone.
      if (unique.length === 1 || isDatabaseUnavailable(err)) throw err;
      return this.writeOneByOne(items);
    }
    const ids = [...inserted.values()];
    if (this.backlog) this.backlog.count += ids.length; // keep the cached backlog honest between counts
    const enqueued = ids.length > 0 ? this.enqueue(ids) : Promise.resolve(0);
    return items.map((it, i): Written => {
      const key = `${it.source}\u0000${it.eventId}`;
      const inboxId = inserted.get(key);
      return inboxId && firstIndex.get(key) === i
        ? { outcome: 'accepted', inboxId, enqueued }
        : { outcome: 'duplicate' };
    });
  }

  private async writeOneByOne(items: IncomingEvent[]): Promise<Written[]> {
    const out: Written[] = [];
    for (const it of items) {
      try {
        const [written] = await this.writeBatch([it]);
        out.push(written);
      } catch (error) {
        out.push({ outcome: 'failed', error });
      }
    }
    return out;
  }

  /** Inserts the events in one statement; returns the new rows' ids by source + event id. */
  private async insertRows(items: IncomingEvent[]): Promise<Map<string, string>> {
    const rows: { id: string; source: string; event_id: string }[] = await this.db.query(
      `INSERT INTO webhook_inbox (source, event_id, event_type, payload, received_at, verified_at)
       SELECT m.source, m.event_id, m.event_type, e.doc, m.received_at, m.verified_at
         FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[])
                WITH ORDINALITY AS m(source, event_id, event_type, received_at, verified_at, n)
         JOIN jsonb_array_elements($6::jsonb) WITH ORDINALITY AS e(doc, n) USING (n)
       ON CONFLICT (source, event_id) DO NOTHING
       RETURNING id, source, event_id`,
      [
        items.map((it) => it.source),
        items.map((it) => it.eventId),
        items.map((it) => it.eventType),
        items.map((it) => it.receivedAt),
        items.map((it) => it.verifiedAt),
        // The verified bodies, already JSON: joined, not parsed and re-serialised.
        `[${items.map((it) => it.json).join(',')}]`,
      ],
    );
    return new Map(rows.map((r) => [`${r.source}\u0000${r.event_id}`, r.id]));
  }

  /**
   * Stores events pulled from a source's events API (reconciliation) in one statement;
   * those already received by webhook are skipped by the unique (source, event_id).
   * Returns the ids of the new rows, already enqueued.
   */
  async receiveBulk(source: string, events: InboundEventDto[]): Promise<string[]> {
    if (events.length === 0) return [];
    const now = new Date();
    const rows: { id: string }[] = await this.db.query(
      `INSERT INTO webhook_inbox (source, event_id, event_type, payload, received_at, verified_at, received_via)
       SELECT $1, e->>'event_id', e->>'type', e, $3, $3, 'reconciliation'
         FROM jsonb_array_elements($2::jsonb) AS e
       ON CONFLICT (source, event_id) DO NOTHING
       RETURNING id`,
      [source, JSON.stringify(events), now],
    );
    const ids = rows.map((r) => r.id);
    await this.enqueue(ids);
    return ids;
  }

  /**
   * Enqueues inbox rows by id (job id = row id, so a re-enqueue never duplicates work)
   * and stamps them queued. If Redis is unavailable the rows stay unqueued and the
   * sweeper picks them up: the inbox row, not the job, is the durable record.
   */
  async enqueue(inboxIds: string[]): Promise<number> {
    if (inboxIds.length === 0) return 0;
    const adding = this.queue.addBulk(
      inboxIds.map((inboxId) => ({
        name: JobName.ApplyInboxEvent,
        data: { inboxId },
        opts: { ...defaultJobOptions, jobId: inboxId },
      })),
    );
    // A Redis that is down makes Bull wait for it; the sender must not wait with it.
    adding.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        adding,
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`Redis took no job within ${this.enqueueTimeoutMs} ms`)),
            this.enqueueTimeoutMs,
          );
        }),
      ]);
    } catch (err) {
      this.logger.warn(
        `Could not enqueue ${inboxIds.length} inbox row(s), the sweeper will retry: ${(err as Error).message}`,
      );
      return 0;
    } finally {
      clearTimeout(timer);
    }
    await this.db.query(`UPDATE webhook_inbox SET queued_at = now() WHERE id = ANY($1::uuid[])`, [inboxIds]);
    return inboxIds.length;
  }

  /**
   * Applies one inbox row exactly once in effect: the row is locked, the source's
   * handler runs, and the row is marked processed — all in one transaction. A row
   * already processed is skipped, so a duplicate job is harmless.
   */
  async process(inboxId: string): Promise<'processed' | 'ignored' | 'skipped'> {
    let lag: { source: string; seconds: number } | undefined;
    try {
      const processed = await this.db.transaction(async (manager) => {
        const row = await manager
          .getRepository(InboxEntry)
          .createQueryBuilder('i')
          .setLock('pessimistic_write')
          .where('i.id = :inboxId', { inboxId })
          .getOne();
        if (!row || row.processedAt) return 'skipped';
        const result = await this.handlers.get(row.source).handle(manager, {
          inboxId: row.id,
          source: row.source,
          eventId: row.eventId,
          type: row.eventType,
          payload: row.payload,
          receivedAt: row.receivedAt,
          verifiedAt: row.verifiedAt,
          queuedAt: row.queuedAt,
          receivedVia: row.receivedVia,
        });
        const status = result.outcome === 'applied' ? 'processed' : 'ignored';
        const outcome = result.outcome === 'applied' ? (result.note ?? 'applied') : result.reason;
        const processedAt = new Date();
        lag = { source: row.source, seconds: (processedAt.getTime() - row.receivedAt.getTime()) / 1000 };
        await manager.update(InboxEntry, row.id, {
          status,
          outcome,
          processedAt,
          attempts: row.attempts + 1,
          lastError: null,
        });
        this.logger.log({
          msg: `Inbox ${row.id} (${row.source} ${row.eventId} ${row.eventType}) ${status}: ${outcome}`,
          ...eventIds(row.payload),
          inboxId: row.id,
        });
        return status;
      });
      // Observed once committed, so a rolled-back attempt that is retried counts once.
      if (lag) this.metrics.webhookProcessingLag.observe({ source: lag.source }, lag.seconds);
      return processed;
    } catch (err) {
      await this.db.query(`UPDATE webhook_inbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1`, [
        inboxId,
        String((err as Error).message).slice(0, 1000),
      ]);
      this.logger.error(`Inbox ${inboxId} failed, will retry: ${(err as Error).message}`);
      throw err;
    }
  }

  /**
   * Re-enqueues rows neither processed nor recently queued. Rows are claimed (locked,
   * then stamped queued) in one transaction, so replicas never sweep the same rows.
   */
  async sweep(staleAfterMs: number, limit = 500): Promise<number> {
    const ids = await this.db.transaction(async (manager) => {
      const rows: { id: string }[] = await manager.query(
        `SELECT id FROM webhook_inbox
          WHERE processed_at IS NULL
            AND received_at < now() - make_interval(secs => $1 / 1000.0)
            AND (queued_at IS NULL OR queued_at < now() - make_interval(secs => $1 / 1000.0))
          ORDER BY received_at
          LIMIT $2
          FOR UPDATE SKIP LOCKED`,
        [staleAfterMs, limit],
      );
      const claimed = rows.map((r) => r.id);
      if (claimed.length > 0) {
        await manager.query(`UPDATE webhook_inbox SET queued_at = now() WHERE id = ANY($1::uuid[])`, [claimed]);
      }
      return claimed;
    });
    if (ids.length === 0) return 0;
    this.logger.warn(`Sweeper re-enqueues ${ids.length} inbox row(s) that were not processed in time`);
    return this.enqueue(ids);
  }
}

/** Ids of an event envelope for log lines: the event, and where the sender echoes them, the payment and order. */
function eventIds(event: { event_id?: unknown; data?: unknown }): Record<string, unknown> {
  const data = (event.data ?? {}) as Record<string, unknown>;
  const metadata = (data.metadata ?? {}) as Record<string, unknown>;
  return {
    eventId: event.event_id,
    pspPaymentId: data.payment_id,
    orderId: metadata.orderId,
    paymentId: metadata.paymentId,
  };
}
