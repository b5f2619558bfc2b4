import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Gauge } from 'prom-client';
import { withTimeout } from '../../common/with-timeout.js';
import type { AllConfig } from '../../config/env.js';
import { MetricsRegistry } from '../../metrics/metrics-registry.js';
import { InboxRepository, type InboxBacklogStats } from './inbox.repository.js';

/** A scrape must answer even when PostgreSQL does not; PostgreSQL also cancels the query then. */
const SOURCE_TIMEOUT_MS = 2_000;
/**
 * Scrapes within this long of the last inbox query reuse its answer: any number of
 * scrapers, at any rate, cost at most one query per interval (docs/decisions/0704-bounded-scrapes.md).
 */
export const INBOX_STATS_TTL_MS = 2_000;
/** The backlog gauge counts at most this many times INBOX_BACKLOG_LIMIT: past the limit the receiver refuses anyway. */
export const INBOX_COUNT_CAP_FACTOR = 10;

/**
 * The inbox backlog, measured when Prometheus scrapes rather than tracked in process, so
 * every replica reports the shared truth (one indexed query). A query that fails or
 * times out leaves the gauges at their last value. Registered by the shop's roles only:
 * the psp role (the PSP mock alone) has no inbox.
 */
@Injectable()
export class InboxBacklogGauges {
  private readonly logger = new Logger('Metrics');
  private inboxQuery?: { at: number; stats: Promise<InboxBacklogStats | null> };
  private readonly inboxCountCap: number;

  constructor(
    registry: MetricsRegistry,
    private readonly inbox: InboxRepository,
    config: ConfigService<AllConfig, true>,
  ) {
    this.inboxCountCap = config.get('INBOX_BACKLOG_LIMIT', { infer: true }) * INBOX_COUNT_CAP_FACTOR;
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

  /** Both gauges, and every scrape within INBOX_STATS_TTL_MS, share one query. */
  private inboxStats(): Promise<InboxBacklogStats | null> {
    if (!this.inboxQuery || Date.now() - this.inboxQuery.at >= INBOX_STATS_TTL_MS) {
      this.inboxQuery = { at: Date.now(), stats: this.queryInbox() };
    }
    return this.inboxQuery.stats;
  }

  /** Bounded: a locked table must not keep pool connections waiting scrape after scrape. */
  private async queryInbox(): Promise<InboxBacklogStats | null> {
    try {
      return await withTimeout(this.inbox.backlogStats(this.inboxCountCap, SOURCE_TIMEOUT_MS), SOURCE_TIMEOUT_MS + 500);
    } catch (err) {
      this.logger.warn(`Could not read the inbox backlog: ${(err as Error).message}`);
      return null;
    }
  }
}
