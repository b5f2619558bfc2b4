import { createHash } from 'node:crypto';
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
import { dataExceptionCode } from '../../common/errors/data-exception.js';
import { DomainError } from '../../common/errors/domain-error.js';
import { GroupCommit } from '../../common/db/group-commit.js';
import { preparedQuery } from '../../common/db/prepared-query.js';
import { WebhookHandlerRegistry, type HandlerResult, type InboundEvent } from './webhook-handler.js';
import { InboxMetrics } from './inbox-metrics.js';
import type { VerifiedWebhook } from './webhook-signature.guard.js';

/** How long a backlog count is reused. */
const BACKLOG_CHECK_MS = 1000;
/** What a 429 for a full backlog asks the sender to wait. */
export const BACKLOG_RETRY_AFTER_S = 5;

/**
 * A job of the inbox queue: inbox rows to apply together (the rows one receiver
 * batch stored). `inboxId` is the one-row shape of jobs enqueued before batches.
 */
export interface ApplyInboxJob {
  inboxIds?: string[];
  inboxId?: string;
}

/** Most inbox rows in one job, and so in one applying transaction (docs/decisions/0002-inbox-job-size.md). */
export const INBOX_JOB_MAX_EVENTS = 100;

/**
 * The inbox row, not its job, is the durable record (attempts, last error, outcome): a
 * job is removed once it completes, and the failed ones (only a database outage fails a
 * job; a handler's failure is the row's, retried by a job of its own) are kept only up to
 * a bound, so a row that keeps failing never piles up jobs in Redis.
 */
export const inboxJobOptions = { ...defaultJobOptions, removeOnComplete: true, removeOnFail: 100 };

/** The Bull jobs of inbox rows: `perJob` rows a job, job id = its first row's id (+ `jobIdSuffix`). */
export function inboxJobs(inboxIds: string[], perJob: number, jobIdSuffix = '') {
  const jobs = [];
  for (let i = 0; i < inboxIds.length; i += perJob) {
    const ids = inboxIds.slice(i, i + perJob);
    jobs.push({
      name: JobName.ApplyInboxEvent,
      data: { inboxIds: ids } satisfies ApplyInboxJob,
      opts: { ...inboxJobOptions, jobId: `${ids[0]}${jobIdSuffix}` },
    });
  }
  return jobs;
}

export interface ProcessSummary {
  processed: number;
  ignored: number;
  /** Already processed (a duplicate job, or a retry of a batch partly done). */
  skipped: number;
  /** Failed, to be tried again after a backoff (a job of their own). */
  retrying?: number;
  /** Failed for the INBOX_MAX_ATTEMPTS-th time: marked dead. */
  dead?: number;
}

type RowOutcome = 'processed' | 'ignored';
/** A job's share of a shared applying transaction. */
type Shared = { applied: Map<string, RowOutcome> } | { error: unknown; jobs: number };

/**
 * Jobs applied in one shared transaction at most, and such transactions running at once:
 * two, and up to four while a full transaction's worth of jobs (8) waits (4 × 8 = the
 * worker's 32 jobs). A backlog drains faster with four, while at a moderate rate jobs
 * sharing the next of two transactions cost less per event than four small ones
 * (docs/decisions/0003-inbox-applier-group-commit.md).
 */
export const INBOX_MERGE_MAX_JOBS = 8;
export const INBOX_MERGE_IN_FLIGHT = 2;
export const INBOX_MERGE_FULL_IN_FLIGHT = 4;

interface LockedInboxRow {
  id: string;
  source: string;
  event_id: string;
  event_type: string;
  payload: Record<string, unknown>;
  received_at: Date;
  verified_at: Date;
  queued_at: Date | null;
  received_via: 'webhook' | 'reconciliation';
  processed_at: Date | null;
}

/** A row `failed` marked: dead, or to be retried after `delay_ms`. */
interface DeadOrRetry extends Omit<LockedInboxRow, 'processed_at'> {
  attempts: number;
  dead: boolean;
  delay_ms: number;
}

export type ReceiveOutcome = { status: 'accepted'; inboxId: string } | { status: 'duplicate' };

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

interface IncomingEvent {
  source: string;
  eventId: string;
  eventType: string;
  /** The event as JSON text (the verified raw body). */
  json: string;
  /** SHA-256 of the body as received, hex. */
  sha256: string;
  receivedAt: Date;
  verifiedAt: Date;
}

type Written =
  | { outcome: 'accepted'; inboxId: string; enqueued: Promise<number> }
  /** storedSha256: the body hash of the row already there (null when unknown: stored without one, or not visible yet). */
  | { outcome: 'duplicate'; storedSha256: Promise<string | null> };

@Injectable()
export class InboxService {
  private readonly logger = new Logger('Inbox');

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @InjectQueue(QueueName.WebhookInbox) private readonly queue: Queue<ApplyInboxJob>,
    private readonly handlers: WebhookHandlerRegistry,
    private readonly metrics: HooklineMetrics,
    private readonly inboxMetrics: InboxMetrics,
    config: ConfigService<AllConfig, true>,
  ) {
    this.enqueueTimeoutMs = config.get('ENQUEUE_TIMEOUT_MS', { infer: true });
    this.backlogLimit = config.get('INBOX_BACKLOG_LIMIT', { infer: true });
    this.maxAttempts = config.get('INBOX_MAX_ATTEMPTS', { infer: true });
    this.backoffMs = config.get('INBOX_RETRY_BACKOFF_MS', { infer: true });
    this.backoffMaxMs = config.get('INBOX_RETRY_BACKOFF_MAX_MS', { infer: true });
  }

  private readonly maxAttempts: number;
  private readonly backoffMs: number;
  private readonly backoffMaxMs: number;

  private readonly enqueueTimeoutMs: number;
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
  private readonly applier = new GroupCommit<string[], Shared>(
    (jobs) => this.applyJobs(jobs),
    INBOX_MERGE_MAX_JOBS,
    INBOX_MERGE_IN_FLIGHT,
    { fullBatchInFlight: INBOX_MERGE_FULL_IN_FLIGHT },
  );
  private backlog: { at: number; count: number } | null = null;
  /** The backlog count in flight, shared by every request that finds the last one stale. */
  private counting: Promise<void> | null = null;

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
    const [{ n }]: { n: number }[] = await this.db.query(
      `SELECT count(*)::int AS n FROM webhook_inbox WHERE processed_at IS NULL AND dead_at IS NULL`,
    );
    this.backlog = { at: Date.now(), count: n };
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
      })
      .catch((err: unknown) => {
        // Written alone by then (retryAlone), so a data exception is this event's own:
        // whatever else PostgreSQL refuses that the receiver's checks let through.
        const sqlState = dataExceptionCode(err);
        if (!sqlState) throw err;
        this.logger.warn({
          msg: `Refused ${webhook.source} event ${event.event_id} (${event.type}): PostgreSQL cannot store it (SQLSTATE ${sqlState}: ${(err as Error).message})`,
          ...eventIds(event),
        });
        throw unstorableEvent(`PostgreSQL cannot store it as jsonb (SQLSTATE ${sqlState})`);
      });
    if (written.outcome === 'duplicate') {
      await this.compareDuplicate(webhook, event, sha256, written.storedSha256);
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
      this.inboxMetrics.duplicateBodyDiffers.inc({ source: webhook.source });
      this.logger.warn({
        msg: `Duplicate ${webhook.source} event ${event.event_id} (${event.type}) has another body than the one stored: ignored as a duplicate`,
        ...eventIds(event),
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
      const key = `${it.source}\u0000${it.eventId}`;
      if (!firstIndex.has(key)) firstIndex.set(key, i);
    });
    const unique = [...firstIndex.values()].map((i) => items[i]);
    const inserted = await this.insertRows(unique);
    const ids = [...inserted.values()];
    if (this.backlog) this.backlog.count += ids.length; // keep the cached backlog honest between counts
    const enqueued = ids.length > 0 ? this.enqueue(ids) : Promise.resolve(0);
    // The stored bodies' hashes of the batch's duplicates: one query for the batch, which
    // only their answers wait for (the new events' answers do not).
    const seenBefore = unique.filter((it) => !inserted.has(`${it.source}\u0000${it.eventId}`));
    const storedHashes = seenBefore.length > 0 ? this.storedHashes(seenBefore) : Promise.resolve(new Map());
    return items.map((it, i): Written => {
      const key = `${it.source}\u0000${it.eventId}`;
      const inboxId = inserted.get(key);
      if (inboxId && firstIndex.get(key) === i) return { outcome: 'accepted', inboxId, enqueued };
      const storedSha256 = inboxId
        ? Promise.resolve(items[firstIndex.get(key)!].sha256) // its first occurrence in this batch
        : storedHashes.then((hashes: Map<string, string | null>) => hashes.get(key) ?? null);
      return { outcome: 'duplicate', storedSha256 };
    });
  }

  /** The body hashes stored for events already in the inbox, by source and event id. */
  private async storedHashes(items: IncomingEvent[]): Promise<Map<string, string | null>> {
    const rows = await this.db.query<{ source: string; event_id: string; sha256: string | null }[]>(
      `SELECT source, event_id, encode(body_sha256, 'hex') AS sha256 FROM webhook_inbox
        WHERE (source, event_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
      [items.map((it) => it.source), items.map((it) => it.eventId)],
    );
    return new Map(rows.map((r) => [`${r.source}\u0000${r.event_id}`, r.sha256]));
  }

  /** Inserts the events in one statement; returns the new rows' ids by source + event id. */
  private async insertRows(items: IncomingEvent[]): Promise<Map<string, string>> {
    const rows = await preparedQuery<{ id: string; source: string; event_id: string }>(
      this.db.manager,
      'hookline_inbox_receive',
      `INSERT INTO webhook_inbox (source, event_id, event_type, payload, received_at, verified_at, queued_at, body_sha256)
       SELECT m.source, m.event_id, m.event_type, e.doc, m.received_at, m.verified_at, now(), decode(m.sha256, 'hex')
         FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[], $7::text[])
                WITH ORDINALITY AS m(source, event_id, event_type, received_at, verified_at, sha256, n)
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
        items.map((it) => it.sha256),
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
      `INSERT INTO webhook_inbox (source, event_id, event_type, payload, received_at, verified_at, queued_at, received_via)
       SELECT $1, e->>'event_id', e->>'type', e, $3, $3, $3, 'reconciliation'
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
   * One job per INBOX_JOB_MAX_EVENTS rows, applied together in one transaction. The job
   * id is the first row's id (with `jobIdSuffix` for a re-enqueue), so enqueueing the
   * same rows again never duplicates work; and a job that meets rows already processed
   * skips them. Resolves with the number of rows enqueued: 0 when Redis took nothing.
   *
   * The rows are stamped `queued_at` by whoever wrote or claimed them (the receiver's
   * INSERT, the sweeper's claim), never here: once the job exists a worker may hold the
   * rows, and a stamp after it would wait for (or deadlock with) that worker's locks.
   * If Redis then takes no job, the rows look queued but are not; the sweeper
   * re-enqueues them once the stamp is older than INBOX_SWEEP_STALE_MS: the inbox row,
   * not the job, is the durable record.
   */
  async enqueue(inboxIds: string[], jobIdSuffix = '', delayMs = 0): Promise<number> {
    if (inboxIds.length === 0) return 0;
    const jobs = inboxJobs(inboxIds, INBOX_JOB_MAX_EVENTS, jobIdSuffix);
    if (delayMs > 0) for (const job of jobs) Object.assign(job.opts, { delay: delayMs });
    const adding = this.queue.addBulk(jobs);
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
    return inboxIds.length;
  }

  /**
   * Applies a job's inbox rows exactly once in effect: the rows are locked, their
   * sources' handlers run, and the rows are marked processed — all in one transaction,
   * with a fixed number of statements for the whole batch. Jobs that run at the same
   * time share that transaction (a group commit, as in the receiver), so the batch grows
   * while the worker is behind and a backlog drains at the cost of few statements per
   * event. Rows already processed are skipped, so a duplicate job is harmless. If a
   * shared transaction fails for any reason but an unreachable database, each job
   * retries alone, then row by row, so that one bad event fails alone (and is retried
   * with its job).
   */
  async process(inboxIds: string[]): Promise<ProcessSummary> {
    const shared = await this.applier.submit(inboxIds);
    if (!('error' in shared)) return summarize(inboxIds, shared.applied);
    if (isDatabaseUnavailable(shared.error)) throw this.unavailable(inboxIds, shared.error);
    let error = shared.error;
    if (shared.jobs > 1) {
      this.logger.warn(
        `Inbox batch of ${shared.jobs} jobs failed (${(shared.error as Error).message}); applying job ${inboxIds[0]} alone`,
      );
      try {
        return summarize(inboxIds, await this.applyBatch(inboxIds));
      } catch (err) {
        if (isDatabaseUnavailable(err)) throw this.unavailable(inboxIds, err);
        error = err;
      }
    }
    if (inboxIds.length === 1) {
      const summary: ProcessSummary = { processed: 0, ignored: 0, skipped: 0, retrying: 0, dead: 0 };
      await this.failed(inboxIds[0], error, summary);
      return summary;
    }
    this.logger.warn(`Inbox job ${inboxIds[0]} failed; applying its ${inboxIds.length} rows one by one`);
    return this.processOneByOne(inboxIds);
  }

  private async processOneByOne(inboxIds: string[]): Promise<ProcessSummary> {
    const summary: ProcessSummary = { processed: 0, ignored: 0, skipped: 0, retrying: 0, dead: 0 };
    for (const id of inboxIds) {
      try {
        const one = summarize([id], await this.applyBatch([id]));
        summary.processed += one.processed;
        summary.ignored += one.ignored;
        summary.skipped += one.skipped;
      } catch (error) {
        // The job fails and Bull retries it: the rows done by then are skipped.
        if (isDatabaseUnavailable(error)) throw this.unavailable([id], error);
        await this.failed(id, error, summary);
      }
    }
    return summary;
  }

  /** PostgreSQL unreachable: not the rows' fault, so no attempt is counted; the job fails and Bull retries it. */
  private unavailable(inboxIds: string[], err: unknown): unknown {
    this.logger.error(
      `Inbox ${inboxIds.join(', ')} not applied, the database is unavailable: ${(err as Error).message}`,
    );
    return err;
  }

  /**
   * Counts a failed attempt on one row (the handler threw for it alone). Below
   * INBOX_MAX_ATTEMPTS the row gets a delayed job of its own, after an exponential
   * backoff (its queued_at set to when that job is due, so the sweeper leaves it until
   * then); at the cap it is marked dead, in the same transaction as the source's
   * `onDead` (the payments module adds a timeline entry), then logged and counted.
   */
  private async failed(id: string, err: unknown, summary: ProcessSummary): Promise<void> {
    const message = String((err as Error).message).slice(0, 1000);
    let row: DeadOrRetry | undefined;
    try {
      row = await this.db.transaction(async (manager) => {
        // An UPDATE answers [rows, count] through TypeORM.
        const [[marked]] = await manager.query<[DeadOrRetry[], number]>(
          `UPDATE webhook_inbox
              SET attempts = attempts + 1, last_error = $2,
                  status = CASE WHEN attempts + 1 >= $3 THEN 'dead' ELSE status END,
                  dead_at = CASE WHEN attempts + 1 >= $3 THEN now() END,
                  queued_at = CASE WHEN attempts + 1 >= $3 THEN queued_at
                                   ELSE now() + make_interval(secs => least($4 * power(2, attempts), $5) / 1000.0) END
            WHERE id = $1 AND processed_at IS NULL AND dead_at IS NULL
        RETURNING id, source, event_id, event_type, payload, received_at, verified_at, queued_at, received_via,
                  attempts, dead_at IS NOT NULL AS dead, least($4 * power(2, attempts - 1), $5)::int AS delay_ms`,
          [id, message, this.maxAttempts, this.backoffMs, this.backoffMaxMs],
        );
        if (marked?.dead && this.handlers.has(marked.source)) {
          await this.handlers.get(marked.source).onDead?.(manager, toInboundEvent(marked), message);
        }
        return marked;
      });
    } catch (recordErr) {
      this.logger.warn(`Could not record the failure of inbox ${id}: ${(recordErr as Error).message}`);
      return;
    }
    if (!row) return; // applied, or marked dead, by another job meanwhile
    if (row.dead) {
      summary.dead = (summary.dead ?? 0) + 1;
      this.inboxMetrics.dead.inc({ source: row.source });
      this.logger.error({
        msg: `Inbox ${id} (${row.source} ${row.event_id} ${row.event_type}) dead after ${row.attempts} attempts: ${message}`,
        ...eventIds(row.payload),
        inboxId: id,
        attempts: row.attempts,
      });
      return;
    }
    summary.retrying = (summary.retrying ?? 0) + 1;
    this.logger.error(
      `Inbox ${id} failed (attempt ${row.attempts} of ${this.maxAttempts}), will retry in ${row.delay_ms} ms: ${message}`,
    );
    // If Redis takes no job, the sweeper re-enqueues the row once it is due and stale.
    await this.enqueue([id], `:retry:${row.attempts}`, row.delay_ms);
  }

  /** One shared transaction for the jobs that came together; a failure is each job's to handle. */
  private async applyJobs(jobs: string[][]): Promise<Shared[]> {
    try {
      const applied = await this.applyBatch(jobs.flat());
      // A row two of these jobs name counts for the first; the other finds it skipped.
      const claimed = new Set<string>();
      return jobs.map((ids) => {
        const mine = new Map<string, RowOutcome>();
        for (const id of ids) {
          const outcome = applied.get(id);
          if (outcome && !claimed.has(id)) mine.set(id, outcome);
          claimed.add(id);
        }
        return { applied: mine };
      });
    } catch (error) {
      return jobs.map(() => ({ error, jobs: jobs.length }));
    }
  }

  /** Applies the rows in one transaction; returns what became of each row it applied (the others were done before). */
  private async applyBatch(inboxIds: string[]): Promise<Map<string, RowOutcome>> {
    const lags: { source: string; seconds: number }[] = [];
    const lines: Record<string, unknown>[] = [];
    const applied = await this.db.transaction(async (manager): Promise<Map<string, RowOutcome>> => {
      // Locked in id order, so that two jobs holding some of the same rows never deadlock.
      const locked = await preparedQuery<LockedInboxRow>(
        manager,
        'hookline_inbox_lock',
        `SELECT id, source, event_id, event_type, payload, received_at, verified_at, queued_at, received_via, processed_at
           FROM webhook_inbox WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`,
        [inboxIds],
      );
      // Applied in the order received (the job's order breaks ties).
      const position = new Map(inboxIds.map((id, i) => [id, i]));
      const rows = locked
        .filter((r) => r.processed_at === null)
        .sort((a, b) => a.received_at.getTime() - b.received_at.getTime() || position.get(a.id)! - position.get(b.id)!);
      if (rows.length === 0) return new Map();
      const results = new Map<string, HandlerResult>();
      for (const source of new Set(rows.map((r) => r.source))) {
        const ofSource = rows.filter((r) => r.source === source);
        const handled = await this.handlers.get(source).handle(
          manager,
          ofSource.map((row) => toInboundEvent(row)),
        );
        if (handled.length !== ofSource.length) {
          throw new Error(`The ${source} handler returned ${handled.length} results for ${ofSource.length} events`);
        }
        ofSource.forEach((row, i) => results.set(row.id, handled[i]));
      }
      const processedAt = new Date();
      const marks = rows.map((row) => {
        const result = results.get(row.id)!;
        const status: RowOutcome = result.outcome === 'applied' ? 'processed' : 'ignored';
        const outcome = result.outcome === 'applied' ? (result.note ?? 'applied') : result.reason;
        lags.push({ source: row.source, seconds: (processedAt.getTime() - row.received_at.getTime()) / 1000 });
        lines.push({
          msg: `Inbox ${row.id} (${row.source} ${row.event_id} ${row.event_type}) ${status}: ${outcome}`,
          ...eventIds(row.payload),
          inboxId: row.id,
        });
        return { id: row.id, status, outcome };
      });
      await preparedQuery(
        manager,
        'hookline_inbox_mark',
        `UPDATE webhook_inbox i SET status = m.status, outcome = m.outcome, processed_at = $4,
                attempts = i.attempts + 1, last_error = NULL
           FROM unnest($1::uuid[], $2::text[], $3::text[]) AS m(id, status, outcome)
          WHERE i.id = m.id`,
        [marks.map((m) => m.id), marks.map((m) => m.status), marks.map((m) => m.outcome), processedAt],
      );
      return new Map(marks.map((m) => [m.id, m.status]));
    });
    // Logged and observed once committed, so a rolled-back attempt that is retried tells and counts once.
    for (const line of lines) this.logger.log(line);
    for (const lag of lags) this.metrics.webhookProcessingLag.observe({ source: lag.source }, lag.seconds);
    return applied;
  }

  /**
   * Re-enqueues rows neither processed nor recently queued. Rows are claimed (locked,
   * then stamped queued) in one transaction, so replicas never sweep the same rows.
   */
  async sweep(staleAfterMs: number, limit = 500): Promise<number> {
    const ids = await this.db.transaction(async (manager) => {
      const rows: { id: string }[] = await manager.query(
        `SELECT id FROM webhook_inbox
          WHERE processed_at IS NULL AND dead_at IS NULL
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
    // A new job id: the rows' first job may still exist in Redis (failed, or kept as completed).
    return this.enqueue(ids, `:swept:${Date.now()}`);
  }
}

/** A stored row as its source's handler sees it. */
function toInboundEvent(row: Omit<LockedInboxRow, 'processed_at'>): InboundEvent {
  return {
    inboxId: row.id,
    source: row.source,
    eventId: row.event_id,
    type: row.event_type,
    payload: row.payload,
    receivedAt: row.received_at,
    verifiedAt: row.verified_at,
    queuedAt: row.queued_at,
    receivedVia: row.received_via,
  };
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

/** A job's counts from what its transaction did to each of its rows; a row not applied was done before. */
function summarize(inboxIds: string[], applied: Map<string, RowOutcome>): ProcessSummary {
  const summary: ProcessSummary = { processed: 0, ignored: 0, skipped: 0 };
  for (const id of new Set(inboxIds)) {
    const outcome = applied.get(id);
    if (outcome) summary[outcome]++;
    else summary.skipped++;
  }
  return summary;
}
