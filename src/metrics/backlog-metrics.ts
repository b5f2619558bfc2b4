import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ModuleRef } from '@nestjs/core';
import { InjectDataSource } from '@nestjs/typeorm';
import type { JobCounts, Queue } from 'bull';
import { Gauge } from 'prom-client';
import { DataSource } from 'typeorm';
import type { AllConfig } from '../config/env.js';
import { hasHttpApi, runsWorkers } from '../config/roles.js';
import { registeredQueues } from '../queue/registered-queues.js';
import { MetricsRegistry } from './metrics-registry.js';

const JOB_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;
/** A scrape must answer even when Redis or PostgreSQL does not; PostgreSQL also cancels the query then. */
const SOURCE_TIMEOUT_MS = 2_000;
/**
 * Scrapes within this long of the last inbox query reuse its answer: any number of
 * scrapers, at any rate, cost at most one query per interval (docs/decisions/0704-bounded-scrapes.md).
 */
export const INBOX_STATS_TTL_MS = 2_000;
/** The backlog gauge counts at most this many times INBOX_BACKLOG_LIMIT: past the limit the receiver refuses anyway. */
export const INBOX_COUNT_CAP_FACTOR = 10;

interface InboxStats {
  backlog: number;
  oldest_s: number;
}

/**
 * Backlogs, measured when Prometheus scrapes rather than tracked in process, so every
 * replica reports the shared truth: unprocessed inbox rows (one indexed query) and
 * Bull job counts of every queue this role registered. A source that fails or times
 * out is left out of that scrape (queues) or keeps its last value (inbox).
 */
@Injectable()
export class BacklogMetrics implements OnModuleInit {
  private readonly logger = new Logger('Metrics');
  private queues: Queue[] = [];
  private inboxQuery?: { at: number; stats: Promise<InboxStats | null> };
  private readonly inboxCountCap: number;

  constructor(
    registry: MetricsRegistry,
    @InjectDataSource() private readonly db: DataSource,
    private readonly moduleRef: ModuleRef,
    config: ConfigService<AllConfig, true>,
  ) {
    this.inboxCountCap = config.get('INBOX_BACKLOG_LIMIT', { infer: true }) * INBOX_COUNT_CAP_FACTOR;
    const queueJobs: Gauge<'queue' | 'state'> = new Gauge({
      name: 'hookline_queue_jobs',
      help: 'Jobs in each Bull queue of this process role, by state (waiting, active, delayed, failed), read at scrape time',
      labelNames: ['queue', 'state'],
      registers: [registry],
      collect: async () => {
        const counts = await Promise.all(this.queues.map((queue) => this.jobCounts(queue)));
        queueJobs.reset();
        counts.forEach((c, i) => {
          if (!c) return;
          for (const state of JOB_STATES) queueJobs.set({ queue: this.queues[i].name, state }, c[state]);
        });
      },
    });

    // The inbox is the shop's: the psp role (the PSP mock alone) does not report it.
    const role = config.get('APP_ROLE', { infer: true });
    if (!hasHttpApi(role) && !runsWorkers(role)) return;
    const backlog: Gauge = new Gauge({
      name: 'hookline_inbox_backlog',
      help: 'Inbound webhook events stored but not yet applied (webhook_inbox rows neither processed nor dead), counted up to 10 x INBOX_BACKLOG_LIMIT, read at most every 2 s',
      registers: [registry],
      collect: async () => {
        const stats = await this.inboxStats();
        if (stats) backlog.set(stats.backlog);
      },
    });
    const oldest: Gauge = new Gauge({
      name: 'hookline_inbox_oldest_unprocessed_age_seconds',
      help: 'Age of the oldest inbound webhook event not yet applied; 0 when none is waiting',
      registers: [registry],
      collect: async () => {
        const stats = await this.inboxStats();
        if (stats) oldest.set(stats.oldest_s);
      },
    });
  }

  onModuleInit(): void {
    this.queues = registeredQueues(this.moduleRef);
  }

  private async jobCounts(queue: Queue): Promise<JobCounts | null> {
    try {
      return await withTimeout(queue.getJobCounts(), SOURCE_TIMEOUT_MS);
    } catch (err) {
      this.logger.warn(`Could not read job counts of queue ${queue.name}: ${(err as Error).message}`);
      return null;
    }
  }

  /** Both inbox gauges, and every scrape within INBOX_STATS_TTL_MS, share one query. */
  private inboxStats(): Promise<InboxStats | null> {
    if (!this.inboxQuery || Date.now() - this.inboxQuery.at >= INBOX_STATS_TTL_MS) {
      this.inboxQuery = { at: Date.now(), stats: this.queryInbox() };
    }
    return this.inboxQuery.stats;
  }

  /**
   * Bounded whatever the backlog: the count stops at the cap, the oldest row is the
   * first entry of the pending index, and PostgreSQL cancels the statement after
   * SOURCE_TIMEOUT_MS (a locked table must not keep pool connections waiting scrape after scrape).
   */
  private async queryInbox(): Promise<InboxStats | null> {
    try {
      const [row] = await withTimeout<InboxStats[]>(
        this.db.transaction(async (manager) => {
          await manager.query(`SET LOCAL statement_timeout = ${SOURCE_TIMEOUT_MS}`);
          return manager.query(
            `/* metrics: inbox backlog */
             SELECT (SELECT count(*) FROM (SELECT 1 FROM webhook_inbox WHERE processed_at IS NULL AND dead_at IS NULL LIMIT $1) capped)::int AS backlog,
                    COALESCE(EXTRACT(EPOCH FROM now() - (SELECT min(received_at) FROM webhook_inbox WHERE processed_at IS NULL AND dead_at IS NULL)), 0)::float8 AS oldest_s`,
            [this.inboxCountCap],
          );
        }),
        SOURCE_TIMEOUT_MS + 500,
      );
      return row;
    } catch (err) {
      this.logger.warn(`Could not read the inbox backlog: ${(err as Error).message}`);
      return null;
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
