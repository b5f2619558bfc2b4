import { InjectQueue } from '@nestjs/bull';
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Queue } from 'bull';
import type { AllConfig } from '../../config/env.js';
import { JobName, QueueName, defaultJobOptions } from '../../queue/queues.js';
import { InboxRepository } from './inbox.repository.js';

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

/**
 * Puts inbox rows on the inbox queue (Bull, Redis): the rows the receiver stored, those
 * a failed attempt retries, those replayed from dead, and those the sweeper finds the
 * queue lost.
 */
@Injectable()
export class InboxQueue {
  private readonly logger = new Logger('Inbox');
  private readonly enqueueTimeoutMs: number;

  constructor(
    @InjectQueue(QueueName.WebhookInbox) private readonly queue: Queue<ApplyInboxJob>,
    private readonly repository: InboxRepository,
    config: ConfigService<AllConfig, true>,
  ) {
    this.enqueueTimeoutMs = config.get('ENQUEUE_TIMEOUT_MS', { infer: true });
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
   * Re-enqueues rows neither processed nor recently queued. Rows are claimed (locked,
   * then stamped queued) in one transaction, so replicas never sweep the same rows.
   */
  async sweep(staleAfterMs: number, limit = 500): Promise<number> {
    const ids = await this.repository.claimStale(staleAfterMs, limit);
    if (ids.length === 0) return 0;
    this.logger.warn(`Sweeper re-enqueues ${ids.length} inbox row(s) that were not processed in time`);
    // A new job id: the rows' first job may still exist in Redis (failed, or kept as completed).
    return this.enqueue(ids, `:swept:${Date.now()}`);
  }
}
