import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { DomainError } from '../../common/errors/domain-error.js';
import { isUuid } from '../../common/ids.js';
import { decodeCursor } from '../../common/pagination/keyset-cursor.js';
import { InboxMetrics } from './inbox-metrics.js';
import { InboxService } from './inbox.service.js';

export interface DeadFilter {
  source?: string;
  type?: string;
  /** Dead at or after (ISO 8601). */
  since?: string;
  /** Dead before (ISO 8601). */
  until?: string;
}

export interface DeadRow {
  id: string;
  source: string;
  eventId: string;
  type: string;
  attempts: number;
  lastError: string | null;
  receivedAt: Date;
  deadAt: Date;
  payload: Record<string, unknown>;
}

/** Most rows one replay-dead call puts back (call again for more). */
export const REPLAY_DEAD_MAX = 10_000;

/**
 * Inbox rows that failed INBOX_MAX_ATTEMPTS times (status `dead`): listed for an
 * operator, and put back (status received, attempts reset, enqueued) once the cause is
 * fixed.
 */
@Injectable()
export class InboxDeadLetters {
  private readonly logger = new Logger('InboxDeadLetters');

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly inbox: InboxService,
    private readonly metrics: InboxMetrics,
  ) {}

  /** Newest death first, keyset-paginated on (dead_at, id). */
  async list(filter: DeadFilter, limit = 20, cursor?: string): Promise<{ data: DeadRow[]; nextCursor: string | null }> {
    const params: unknown[] = [];
    const where = this.where(filter, params);
    if (cursor) {
      const [at, id] = decodeCursor(cursor, 'WEBHOOK_INBOX.INVALID_CURSOR');
      params.push(at, id);
      where.push(
        `(date_trunc('milliseconds', dead_at), id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`,
      );
    }
    params.push(limit + 1);
    const rows = await this.db.query<DeadRow[]>(
      `SELECT id, source, event_id AS "eventId", event_type AS "type", attempts, last_error AS "lastError",
              received_at AS "receivedAt", dead_at AS "deadAt", payload
         FROM webhook_inbox WHERE ${where.join(' AND ')}
        ORDER BY dead_at DESC, id DESC LIMIT $${params.length}`,
      params,
    );
    const data = rows.slice(0, limit);
    const last = data[data.length - 1];
    const nextCursor =
      rows.length > limit ? Buffer.from(`${last.deadAt.toISOString()}|${last.id}`).toString('base64url') : null;
    return { data, nextCursor };
  }

  /** Puts one dead row back; 404 for an unknown id, 409 for a row that is not dead. */
  async replay(id: string): Promise<{ id: string; status: 'received' }> {
    const notFound = new DomainError(
      'WEBHOOK_INBOX.NOT_FOUND',
      404,
      'Inbox row not found',
      `No inbox row with id ${id}.`,
    );
    if (!isUuid(id)) throw notFound;
    const rows = await this.revive(`id = $1`, [id]);
    if (rows.length === 0) {
      const [row] = await this.db.query<{ status: string }[]>(`SELECT status FROM webhook_inbox WHERE id = $1`, [id]);
      if (!row) throw notFound;
      throw new DomainError(
        'WEBHOOK_INBOX.NOT_DEAD',
        409,
        'Inbox row is not dead',
        `Inbox row ${id} is ${row.status}; only dead rows are replayed.`,
        { inboxStatus: row.status },
      );
    }
    await this.requeue(rows);
    return { id, status: 'received' };
  }

  /** Puts back every dead row matching the filter (at most REPLAY_DEAD_MAX); answers how many. */
  async replayAll(filter: DeadFilter): Promise<{ replayed: number }> {
    const params: unknown[] = [];
    const where = this.where(filter, params);
    params.push(REPLAY_DEAD_MAX);
    const rows = await this.revive(
      `id IN (SELECT id FROM webhook_inbox WHERE ${where.join(' AND ')} ORDER BY dead_at LIMIT $${params.length} FOR UPDATE SKIP LOCKED)`,
      params,
    );
    await this.requeue(rows);
    return { replayed: rows.length };
  }

  private where(filter: DeadFilter, params: unknown[]): string[] {
    const where = ['dead_at IS NOT NULL'];
    const add = (sql: (n: number) => string, value: unknown) => {
      params.push(value);
      where.push(sql(params.length));
    };
    if (filter.source) add((n) => `source = $${n}`, filter.source);
    if (filter.type) add((n) => `event_type = $${n}`, filter.type);
    if (filter.since) add((n) => `dead_at >= $${n}::timestamptz`, filter.since);
    if (filter.until) add((n) => `dead_at < $${n}::timestamptz`, filter.until);
    return where;
  }

  private async revive(where: string, params: unknown[]): Promise<{ id: string; source: string }[]> {
    const [rows] = await this.db.query<[{ id: string; source: string }[], number]>(
      `UPDATE webhook_inbox SET status = 'received', dead_at = NULL, attempts = 0, queued_at = now()
        WHERE ${where} AND dead_at IS NOT NULL
        RETURNING id, source`,
      params,
    );
    return rows;
  }

  private async requeue(rows: { id: string; source: string }[]): Promise<void> {
    if (rows.length === 0) return;
    for (const row of rows) this.metrics.replayed.inc({ source: row.source });
    this.logger.warn(
      `Replaying ${rows.length} dead inbox row(s): ${rows
        .slice(0, 20)
        .map((r) => r.id)
        .join(', ')}${rows.length > 20 ? ', …' : ''}`,
    );
    // A job id of its own: the row's earlier jobs may still be known to Redis.
    await this.inbox.enqueue(
      rows.map((r) => r.id),
      `:replay:${Date.now()}`,
    );
  }
}
