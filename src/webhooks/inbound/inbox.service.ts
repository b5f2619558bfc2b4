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
   */
  async receive(webhook: VerifiedWebhook, event: InboundEventDto): Promise<ReceiveOutcome> {
    const rows: { id: string }[] = await this.db.query(
      `INSERT INTO webhook_inbox (source, event_id, event_type, payload, received_at, verified_at)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (source, event_id) DO NOTHING
       RETURNING id`,
      [webhook.source, event.event_id, event.type, event, webhook.receivedAt, webhook.verifiedAt],
    );
    if (rows.length === 0) {
      this.logger.log({
        msg: `Duplicate ${webhook.source} event ${event.event_id} (${event.type}) ignored`,
        ...eventIds(event),
        requestWebhookId: webhook.webhookId,
      });
      return { status: 'duplicate' };
    }
    const inboxId = rows[0].id;
    if (this.backlog) this.backlog.count++; // keep the cached backlog honest between counts
    await this.enqueue([inboxId]);
    this.logger.log({
      msg: `Accepted ${webhook.source} event ${event.event_id} (${event.type}) as inbox ${inboxId}`,
      ...eventIds(event),
      inboxId,
    });
    return { status: 'accepted', inboxId };
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
