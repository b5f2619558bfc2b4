import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AllConfig } from '../../config/env.js';
import { isDatabaseUnavailable } from '../../common/errors/unavailable.js';
import { GroupCommit } from '../../common/db/group-commit.js';
import type { SqlPart } from '../../common/db/sql-part.js';
import {
  WebhookHandlerRegistry,
  type HandleContext,
  type HandlerResult,
  type InboundEvent,
} from './webhook-handler.js';
import { InboundMetrics } from './inbound-metrics.js';
import { InboxQueue } from './inbox-queue.js';
import {
  InboxRepository,
  type DeadOrRetry,
  type InboxMark,
  type LockedInboxRow,
  type RetryPolicy,
} from './inbox.repository.js';
import { eventLogIds } from './event-log-ids.js';
import {
  SpanKind,
  endWithError,
  startChildSpan,
  traceFieldsOf,
  traceparentOf,
  type Span,
} from '../../telemetry/trace-context.js';

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

type RowOutcome = InboxMark['status'];
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

/**
 * Applies inbox rows: hands each to its source's handler and marks it processed in the
 * same transaction, shared by the jobs that run at once; a failed row is retried after
 * a backoff, and marked dead after INBOX_MAX_ATTEMPTS.
 */
@Injectable()
export class InboxApplier {
  private readonly logger = new Logger('Inbox');
  private readonly policy: RetryPolicy;
  private readonly applier = new GroupCommit<string[], Shared>(
    (jobs) => this.applyJobs(jobs),
    INBOX_MERGE_MAX_JOBS,
    INBOX_MERGE_IN_FLIGHT,
    { fullBatchInFlight: INBOX_MERGE_FULL_IN_FLIGHT },
  );

  constructor(
    private readonly repository: InboxRepository,
    private readonly queue: InboxQueue,
    private readonly handlers: WebhookHandlerRegistry,
    private readonly metrics: InboundMetrics,
    config: ConfigService<AllConfig, true>,
  ) {
    this.policy = {
      maxAttempts: config.get('INBOX_MAX_ATTEMPTS', { infer: true }),
      backoffMs: config.get('INBOX_RETRY_BACKOFF_MS', { infer: true }),
      backoffMaxMs: config.get('INBOX_RETRY_BACKOFF_MAX_MS', { infer: true }),
    };
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
      row = await this.repository.transaction(async (manager) => {
        const marked = await this.repository.markFailed(manager, id, message, this.policy);
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
      this.metrics.dead.inc({ source: row.source });
      this.logger.error({
        msg: `Inbox ${id} (${row.source} ${row.event_id} ${row.event_type}) dead after ${row.attempts} attempts: ${message}`,
        ...eventLogIds(row.payload),
        inboxId: id,
        attempts: row.attempts,
      });
      return;
    }
    summary.retrying = (summary.retrying ?? 0) + 1;
    this.logger.error(
      `Inbox ${id} failed (attempt ${row.attempts} of ${this.policy.maxAttempts}), will retry in ${row.delay_ms} ms: ${message}`,
    );
    // If Redis takes no job, the sweeper re-enqueues the row once it is due and stale.
    await this.queue.enqueue([id], `:retry:${row.attempts}`, row.delay_ms);
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
    // One span per event stored with a trace context (tracing on), a child of the request
    // that delivered it: the batch is shared by events of many traces
    // (docs/decisions/1202-trace-context-per-row.md).
    const spans = new Map<string, Span>();
    let applied: Map<string, RowOutcome>;
    try {
      applied = await this.applyInTransaction(inboxIds, spans, lags, lines);
    } catch (err) {
      for (const span of spans.values()) endWithError(span, err);
      throw err;
    }
    for (const [id, span] of spans) {
      span.setAttribute('hookline.inbox.status', applied.get(id) ?? 'skipped');
      span.end();
    }
    // Logged and observed once committed, so a rolled-back attempt that is retried tells and counts once.
    for (const line of lines) this.logger.log(line);
    for (const lag of lags) this.metrics.processingLag.observe({ source: lag.source }, lag.seconds);
    return applied;
  }

  private applyInTransaction(
    inboxIds: string[],
    spans: Map<string, Span>,
    lags: { source: string; seconds: number }[],
    lines: Record<string, unknown>[],
  ): Promise<Map<string, RowOutcome>> {
    return this.repository.transaction(async (manager): Promise<Map<string, RowOutcome>> => {
      // The rows, and what the sources' co-locks lock for them (the payments), in one statement.
      const { rows: locked, coLocked } = await this.repository.lockRows(manager, inboxIds, this.handlers.coLocks);
      // Applied in the order received (the job's order breaks ties).
      const position = new Map(inboxIds.map((id, i) => [id, i]));
      const rows = locked
        .filter((r) => r.processed_at === null)
        .sort((a, b) => a.received_at.getTime() - b.received_at.getTime() || position.get(a.id)! - position.get(b.id)!);
      if (rows.length === 0) return new Map();
      for (const row of rows) {
        const span = startChildSpan(
          'webhook.inbox.apply',
          row.trace_context,
          {
            'hookline.inbox_id': row.id,
            'hookline.webhook.source': row.source,
            'hookline.webhook.event_id': row.event_id,
            'hookline.webhook.event_type': row.event_type,
            'hookline.inbox.batch_events': rows.length,
          },
          SpanKind.CONSUMER,
        );
        if (span) spans.set(row.id, span);
      }
      const processedAt = new Date();
      const results = new Map<string, HandlerResult>();
      const sources = [...new Set(rows.map((r) => r.source))];
      // The last source's handler may write the whole batch's mark in its last statement
      // (decision 0033): by then every other source's results are known.
      let folded: { part: SqlPart; results: HandlerResult[] } | null = null;
      for (const [k, source] of sources.entries()) {
        const ofSource = rows.filter((r) => r.source === source);
        const context: HandleContext = { coLocked };
        if (k === sources.length - 1) {
          context.markWith = (handled) => {
            if (folded) throw new Error(`The ${source} handler asked for the inbox mark twice`);
            if (handled.length !== ofSource.length) {
              throw new Error(`The ${source} handler marks ${handled.length} results for ${ofSource.length} events`);
            }
            const all = new Map(results);
            ofSource.forEach((row, i) => all.set(row.id, handled[i]));
            folded = { part: this.repository.markAppliedPart(marksOf(rows, all), processedAt), results: handled };
            return folded.part;
          };
        }
        const handled = await this.handlers.get(source).handle(
          manager,
          ofSource.map((row) => toInboundEvent(row, traceparentOf(spans.get(row.id)))),
          context,
        );
        if (handled.length !== ofSource.length) {
          throw new Error(`The ${source} handler returned ${handled.length} results for ${ofSource.length} events`);
        }
        ofSource.forEach((row, i) => results.set(row.id, handled[i]));
      }
      const marks = marksOf(rows, results);
      const fold = folded as { part: SqlPart; results: HandlerResult[] } | null;
      if (!fold) {
        await this.repository.markApplied(manager, marks, processedAt);
      } else if (!fold.part.written) {
        // A handler that took the mark and did not write it would leave the rows to be applied again.
        throw new Error('The inbox mark was handed to a handler that did not write it');
      } else if (
        !sameResults(
          fold.results,
          rows.filter((r) => r.source === sources.at(-1)).map((r) => results.get(r.id)!),
        )
      ) {
        throw new Error('A handler returned other results than the inbox mark it wrote');
      }
      for (const row of rows) {
        lags.push({ source: row.source, seconds: (processedAt.getTime() - row.received_at.getTime()) / 1000 });
      }
      for (const [i, mark] of marks.entries()) {
        const row = rows[i];
        lines.push({
          msg: `Inbox ${row.id} (${row.source} ${row.event_id} ${row.event_type}) ${mark.status}: ${mark.outcome}`,
          ...eventLogIds(row.payload),
          inboxId: row.id,
          ...traceFieldsOf(spans.get(row.id)),
        });
      }
      return new Map(marks.map((m) => [m.id, m.status]));
    });
  }
}

/** Each row's mark from its handler's result. */
function marksOf(rows: LockedInboxRow[], results: Map<string, HandlerResult>): InboxMark[] {
  return rows.map((row): InboxMark => {
    const result = results.get(row.id)!;
    const status: RowOutcome = result.outcome === 'applied' ? 'processed' : 'ignored';
    const outcome = result.outcome === 'applied' ? (result.note ?? 'applied') : result.reason;
    return { id: row.id, status, outcome };
  });
}

function sameResults(a: HandlerResult[], b: HandlerResult[]): boolean {
  return a.length === b.length && a.every((r, i) => JSON.stringify(r) === JSON.stringify(b[i]));
}

/** A stored row as its source's handler sees it. */
function toInboundEvent(row: Omit<LockedInboxRow, 'processed_at'>, traceparent?: string | null): InboundEvent {
  return {
    ...(traceparent && { traceparent }),
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
