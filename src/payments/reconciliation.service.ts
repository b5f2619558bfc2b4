import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { InboxWriter } from '../webhooks/inbound/inbox-writer.js';
import { PaymentsRepository } from './payments.repository.js';
import { PspClient } from './psp/psp.client.js';
import { tracingOn } from '../telemetry/tracing.js';

const PAGE = 100;
/** Pages read per run at most, so one run stays short; the next run goes on from the cursor. */
const MAX_PAGES = 50;

export interface ReconcileReport {
  pages: number;
  events: number;
  missed: number;
  cursor: string | null;
}

/**
 * Reads the PSP's events API from a stored cursor and feeds every event the shop has
 * not received into the inbox, marked as pulled by reconciliation: one request per
 * page of 100 instead of one per payment. Events already received are skipped by the
 * inbox's unique (source, event_id), so this only ever fills gaps. The cursor row is
 * locked for the run, so only one replica reconciles at a time.
 */
@Injectable()
export class ReconciliationService {
  private readonly logger = new Logger('Reconciliation');

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly payments: PaymentsRepository,
    private readonly psp: PspClient,
    private readonly inbox: InboxWriter,
  ) {}

  /**
   * With tracing on, each event's payment's trace context: applying an event reconciliation
   * found joins the trace of its payment's creation. Nothing is read with tracing off.
   */
  private async traceContexts(events: { data?: { payment_id?: unknown } }[]): Promise<(string | null)[] | undefined> {
    if (!tracingOn()) return undefined;
    const ids = events.map((e) => (typeof e.data?.payment_id === 'string' ? e.data.payment_id : null));
    const contexts = await this.payments.traceContextsOf([...new Set(ids.filter((id) => id !== null))]);
    return ids.map((id) => (id === null ? null : (contexts.get(id) ?? null)));
  }

  async run(): Promise<ReconcileReport | null> {
    // The events of the PSP in use, under its own source and cursor (psp, or stripe).
    const source = this.psp.eventSource;
    await this.payments.ensureCursor(source);
    return this.db.transaction(async (manager) => {
      const locked = await this.payments.lockCursor(manager, source);
      if (!locked) return null; // another replica is reconciling
      let cursor = locked.cursor;
      const report: ReconcileReport = { pages: 0, events: 0, missed: 0, cursor };
      for (let page = 0; page < MAX_PAGES; page++) {
        const { data, has_more } = await this.psp.listEvents(cursor, PAGE);
        report.pages++;
        report.events += data.length;
        if (data.length === 0) break;
        const fresh = await this.inbox.receiveBulk(source, data, await this.traceContexts(data));
        report.missed += fresh.length;
        cursor = data[data.length - 1].event_id;
        await this.payments.saveCursor(manager, source, cursor);
        if (!has_more) break;
      }
      report.cursor = cursor;
      if (report.missed > 0) {
        this.logger.warn(
          `Reconciliation found ${report.missed} event(s) never received by webhook (${report.events} read in ${report.pages} page(s))`,
        );
      }
      return report;
    });
  }
}
