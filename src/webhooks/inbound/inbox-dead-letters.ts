import { Injectable, Logger } from '@nestjs/common';
import { DomainError, notFound } from '../../common/errors/domain-error.js';
import { isUuid } from '../../common/ids.js';
import { decodeCursor } from '../../common/pagination/keyset-cursor.js';
import { eventLogIds } from './event-log-ids.js';
import { InboundMetrics } from './inbound-metrics.js';
import { InboxQueue } from './inbox-queue.js';
import { InboxRepository, type DeadFilter, type DeadRow, type RevivedRow } from './inbox.repository.js';

/** Most rows one replay-dead call puts back (call again for more). */
export const REPLAY_DEAD_MAX = 10_000;

const inboxRowNotFound = (id: string): DomainError => notFound('WEBHOOK_INBOX.NOT_FOUND', 'Inbox row', id);

/**
 * Inbox rows that failed INBOX_MAX_ATTEMPTS times (status `dead`): listed for an
 * operator, put back (status received, attempts reset, enqueued) once the cause is
 * fixed, or deleted when the operator judges the event will never apply.
 */
@Injectable()
export class InboxDeadLetters {
  private readonly logger = new Logger('InboxDeadLetters');

  constructor(
    private readonly repository: InboxRepository,
    private readonly queue: InboxQueue,
    private readonly metrics: InboundMetrics,
  ) {}

  /** Newest death first, keyset-paginated on (dead_at, id). */
  async list(filter: DeadFilter, limit = 20, cursor?: string): Promise<{ data: DeadRow[]; nextCursor: string | null }> {
    const after = cursor ? decodeCursor(cursor, 'WEBHOOK_INBOX.INVALID_CURSOR') : null;
    const rows = await this.repository.listDead(filter, after, limit + 1);
    const data = rows.slice(0, limit);
    const last = data[data.length - 1];
    const nextCursor =
      rows.length > limit ? Buffer.from(`${last.deadAt.toISOString()}|${last.id}`).toString('base64url') : null;
    return { data, nextCursor };
  }

  /** Puts one dead row back; 404 for an unknown id, 409 for a row that is not dead. */
  async replay(id: string): Promise<{ id: string; status: 'received' }> {
    if (!isUuid(id)) throw inboxRowNotFound(id);
    const rows = await this.repository.reviveOne(id);
    if (rows.length === 0) throw await this.notDeadOrMissing(id, 'replayed');
    await this.requeue(rows);
    return { id, status: 'received' };
  }

  /**
   * Deletes one dead row an operator judged never to apply; 404 for an unknown id, 409
   * for a row that is not dead (a replay that came first included). `caller` is logged.
   */
  async discard(id: string, caller: string): Promise<void> {
    if (!isUuid(id)) throw inboxRowNotFound(id);
    const row = await this.repository.deleteDead(id);
    if (!row) throw await this.notDeadOrMissing(id, 'discarded');
    this.metrics.discarded.inc({ source: row.source });
    this.logger.warn({
      msg: `Discarded dead inbox row ${id} (${row.source} ${row.eventId} ${row.type}) by ${caller}`,
      ...eventLogIds(row.payload),
      eventId: row.eventId,
      inboxId: id,
      source: row.source,
      caller,
      audit: 'inbox.discarded',
    });
  }

  /** Puts back every dead row matching the filter (at most REPLAY_DEAD_MAX); answers how many. */
  async replayAll(filter: DeadFilter): Promise<{ replayed: number }> {
    const rows = await this.repository.reviveDead(filter, REPLAY_DEAD_MAX);
    await this.requeue(rows);
    return { replayed: rows.length };
  }

  /** Why a dead-only action found nothing to act on: 404 if there is no row, else 409 with its status. */
  private async notDeadOrMissing(id: string, action: 'replayed' | 'discarded'): Promise<DomainError> {
    const status = await this.repository.statusOf(id);
    if (status === null) return inboxRowNotFound(id);
    return new DomainError(
      'WEBHOOK_INBOX.NOT_DEAD',
      409,
      'Inbox row is not dead',
      `Inbox row ${id} is ${status}; only dead rows are ${action}.`,
      { inboxStatus: status },
    );
  }

  private async requeue(rows: RevivedRow[]): Promise<void> {
    if (rows.length === 0) return;
    for (const row of rows) this.metrics.replayed.inc({ source: row.source });
    this.logger.warn(
      `Replaying ${rows.length} dead inbox row(s): ${rows
        .slice(0, 20)
        .map((r) => r.id)
        .join(', ')}${rows.length > 20 ? ', …' : ''}`,
    );
    // A job id of its own: the row's earlier jobs may still be known to Redis.
    await this.queue.enqueue(
      rows.map((r) => r.id),
      `:replay:${Date.now()}`,
    );
  }
}
